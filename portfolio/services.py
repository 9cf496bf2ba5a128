"""Kernel writes: the portfolio settings and a user's API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from portfolio import events
from portfolio.models import PortfolioSettings
from portfolio.permissions import AnyUser, require_leader
from portfolio.validation import full_clean_or_fail
from portfolio.versioning import check_version


@transaction.atomic
def portfolio_settings_update(
    *, actor: AnyUser, version: int | None = None, **changes: Any
) -> PortfolioSettings:
    """Change thresholds. With `version`, refuse if the settings changed since then."""
    require_leader(actor, "change the portfolio settings")
    obj = PortfolioSettings.load()
    obj = PortfolioSettings.objects.select_for_update().get(pk=obj.pk)
    check_version(obj, version, name="The portfolio settings")
    before = events.values_of(obj)
    for name, value in changes.items():
        setattr(obj, name, value)
    full_clean_or_fail(obj)
    obj._history_user = actor
    obj.save()
    changed = events.diff(before, events.values_of(obj))
    if changed:
        events.record("settings.updated", obj, actor=actor, changed=changed)
    return obj


@transaction.atomic
def api_token_rotate(*, user: User) -> Token:
    """Replace the user's API token: the old one stops working the moment this commits."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    # The token itself is never in an event: only whose was replaced.
    data = {"user": user.pk, "username": user.get_username()}
    events.record("api_token.rotated", user.pk, actor=user, data=data)
    return token
