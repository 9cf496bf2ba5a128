"""Kernel writes: the portfolio settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction

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
