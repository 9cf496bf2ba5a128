"""Writes on people, teams, clusters and the portfolio settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portfolio.models import PortfolioSettings
from portfolio.permissions import AnyUser, require_leader
from portfolio.validation import full_clean_or_fail


@transaction.atomic
def portfolio_settings_update(*, actor: AnyUser, **changes: Any) -> PortfolioSettings:
    require_leader(actor, "change the portfolio settings")
    obj = PortfolioSettings.load()
    obj = PortfolioSettings.objects.select_for_update().get(pk=obj.pk)
    for name, value in changes.items():
        setattr(obj, name, value)
    full_clean_or_fail(obj)
    obj._history_user = actor
    obj.save()
    return obj
