"""Writes of the accounts app: API tokens made and revoked, a sign-in lockout lifted, a password
reset mail asked for."""

from __future__ import annotations

import datetime as dt
import logging

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.utils import timezone

from accounts.models import NAME_MAX_LENGTH, PREFIX_LENGTH, ApiToken, generate_key, hash_key
from portfolio import outbox
from portfolio.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from portfolio.permissions import AnyUser, require_leader
from portfolio.validation import date_range_or_fail

# Enough for one token per integration; a list this long is due for a tidy-up.
MAX_TOKENS_PER_USER = 50


def _login(actor: AnyUser, action: str) -> User:
    if not actor.is_authenticated:
        raise Forbidden(f"Sign in to {action}.")
    assert isinstance(actor, User)
    return actor


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            {"name": ["Give the token a name, such as the system that will use it."]}
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed({"name": [f"Keep the name to {NAME_MAX_LENGTH} characters."]})
    return name


def _check_expiry(expires_at: dt.datetime | None, now: dt.datetime) -> None:
    if expires_at is None:
        return
    if timezone.is_naive(expires_at):
        raise ValidationFailed({"expires_at": ["Give the time with its time zone."]})
    date_range_or_fail(expires_at, field="expires_at")
    if expires_at <= now:
        raise ValidationFailed({"expires_at": ["Choose a time in the future."]})


@transaction.atomic
def api_token_create(
    *, actor: AnyUser, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Make a token for the actor; returns it and its key, which is never available again."""
    user = _login(actor, "make an API token")
    name = _clean_name(name)
    _check_expiry(expires_at, timezone.now())
    # One maker at a time per user, so the name check and the limit hold under concurrency.
    User.objects.select_for_update().filter(pk=user.pk).first()
    mine = ApiToken.objects.filter(user=user)
    if mine.filter(name__iexact=name).exists():
        raise ValidationFailed({"name": [f"You already have a token named “{name}”."]})
    if mine.count() >= MAX_TOKENS_PER_USER:
        raise RuleViolation(
            f"You have {MAX_TOKENS_PER_USER} tokens already; revoke one you no longer use "
            "before making another.",
            field="name",
            rule="api_token_limit",
        )
    key = generate_key()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        expires_at=expires_at,
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: AnyUser, token_id: int) -> ApiToken:
    """Revoke one token (it stops working when this commits; the others keep working).

    Your own tokens, or anyone's for a leader; someone else's token is not found."""
    _login(actor, "revoke an API token")
    token = ApiToken.objects.editable_by(actor).select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token: it may have been revoked already.")
    token.delete()
    return token


logger = logging.getLogger(__name__)

PASSWORD_RESET_TASK = "accounts.tasks.send_password_reset"


@transaction.atomic
def lockout_unlock(
    *, actor: AnyUser, username: str | None = None, ip_address: str | None = None
) -> int:
    """Forget the failed sign-ins of `username`, of `ip_address`, or of the pair (both given),
    so the lockout they caused ends now. Leaders only. Returns how many records went."""
    leader = require_leader(actor, "unlock sign-ins")
    username = (username or "").strip() or None
    ip_address = (ip_address or "").strip() or None
    if username is None and ip_address is None:
        raise ValidationFailed("Name the username or the address to unlock.", field="username")
    removed: int = axes_reset(ip=ip_address, username=username)
    logger.warning(
        "Sign-in lockout lifted by %s: username=%s address=%s (%d records)",
        leader.get_username(),
        username,
        ip_address,
        removed,
    )
    return removed


def can_reset_password(user: AbstractBaseUser) -> bool:
    """A login may reset its password if it is active, has a password, and is not linked to a
    person who has left."""
    if not user.is_active or not user.has_usable_password():
        return False
    person = getattr(user, "person", None)
    return person is None or bool(person.active)


@transaction.atomic
def password_reset_request(*, email: str, base_url: str) -> int:
    """Queue a reset mail for every login with this e-mail address that may reset its password.

    Answers the same way whether or not one exists (the caller shows the same page either
    way); the mail is sent by a background job, so the answer takes as long either way too.
    The job makes the link itself when it sends: no reset token waits in the outbox.
    Returns how many mails were queued (for tests and logs, never for the person asking).
    """
    users = get_user_model()._default_manager.filter(email__iexact=email.strip(), is_active=True)
    queued = 0
    for user in users.select_related("person"):
        if can_reset_password(user):
            outbox.enqueue(PASSWORD_RESET_TASK, user.pk, base_url)
            queued += 1
    return queued
