"""Writes of the accounts app: API tokens made and revoked; the logins single sign-on creates
or links, and the leader role it keeps in step with the provider's group claim; a sign-in
lockout lifted; a password reset mail asked for.

The actor of the sign-in writes is the person signing in: the provider has just vouched for
them, and nobody else is there. Each write runs in its own transaction and locks the rows it
changes, so two sign-ins of the same person at once link one login, not two.
"""

from __future__ import annotations

import datetime as dt
import logging

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import transaction
from django.utils import timezone
from simple_history.utils import update_change_reason

from accounts.models import (
    NAME_MAX_LENGTH,
    PREFIX_LENGTH,
    ApiToken,
    PageVisit,
    generate_key,
    hash_key,
)
from portfolio import events, outbox
from portfolio.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from portfolio.permissions import LEADERS_GROUP, AnyUser, require_leader
from portfolio.validation import date_range_or_fail, full_clean_or_fail
from products.models import Person

USERNAME_MAX = 150


def _free_username(email: str) -> str:
    """A username from the e-mail's local part, with a number added when it is taken."""
    base = (email.split("@", 1)[0].strip().lower() or "user")[: USERNAME_MAX - 6]
    users = get_user_model().objects
    candidate, n = base, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _new_login(*, name: str, email: str) -> User:
    first, _, last = name.partition(" ")
    user: User = get_user_model().objects.create_user(
        username=_free_username(email),
        email=email,
        first_name=first[:150],
        last_name=last[:150],
    )
    # Signs in through the provider only; a password can be set later by a leader.
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def sso_login_link(*, person: Person) -> User:
    """The login of a person the provider vouched for: theirs, or a new one linked to them."""
    person = Person.objects.select_for_update(of=("self",)).select_related("user").get(pk=person.pk)
    if person.user is not None:
        return person.user
    user = _new_login(name=person.name, email=person.email)
    person.user = user
    person._history_user = user
    person.save(update_fields=["user", "updated_at"])
    events.record("person.updated", person, actor=user, changed={"user": [None, user.pk]})
    return user


@transaction.atomic
def sso_person_create(*, email: str, name: str, subject: str) -> User:
    """A person and their login for an unknown verified e-mail (OIDC_CREATE_USERS): a viewer.

    `subject` (the provider's `sub`) goes in the person's history, so a leader can tell who
    the provider said this was."""
    email = email.strip().lower()
    person = Person(name=name.strip()[:120] or email, email=email)
    full_clean_or_fail(person)
    user = _new_login(name=person.name, email=email)
    person.user = user
    person._history_user = user
    person.save()
    update_change_reason(person, f"First single sign-on, subject {subject}"[:100])
    events.record("person.created", person, actor=user)
    return user


@transaction.atomic
def sso_leader_role_sync(*, user: User, leader: bool) -> None:
    """Make the login a portfolio leader or not, as the provider's group claim says.

    Superusers are left alone: their role does not come from the provider."""
    if user.is_superuser:
        return
    group, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
    was_leader = user.groups.filter(pk=group.pk).exists()
    if leader == was_leader:
        return
    if leader:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    events.record(
        "login.role_changed",
        user,
        actor=user,
        changed={"leader": [was_leader, leader]},
        data={"id": user.pk, "username": user.get_username(), "leader": leader},
    )
    # A cached answer from earlier in the request must not outlive the change.
    user.__dict__.pop("_is_leader", None)


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
    events.record("api_token.created", token, actor=user)
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: AnyUser, token_id: int) -> ApiToken:
    """Revoke one token (it stops working when this commits; the others keep working).

    Your own tokens, or anyone's for a leader; someone else's token is not found."""
    _login(actor, "revoke an API token")
    token = ApiToken.objects.editable_by(actor).select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token: it may have been revoked already.")
    # Recorded before the delete: the event keeps the token as it was (never its key).
    events.record("api_token.revoked", token, actor=actor)
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


@transaction.atomic
def page_visit_record(
    *, user: AnyUser, page: str, at: dt.datetime | None = None
) -> dt.datetime | None:
    """Note that `user` opened `page` now; answers when they opened it before (None the first
    time, and always for anonymous). Two statements: the read, then one upsert."""
    if not user.is_authenticated:
        return None
    previous = (
        PageVisit.objects.filter(user=user, page=page).values_list("seen_at", flat=True).first()
    )
    PageVisit.objects.bulk_create(
        [PageVisit(user=user, page=page, seen_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "page"],
        update_fields=["seen_at"],
    )
    return previous
