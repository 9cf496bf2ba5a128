"""Writes of the accounts app: lifting a sign-in lockout, and asking for a password reset mail."""

from __future__ import annotations

import logging

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from portfolio import outbox
from portfolio.errors import ValidationFailed
from portfolio.permissions import AnyUser, require_leader

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
