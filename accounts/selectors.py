"""Reads of the accounts app."""

from __future__ import annotations

from django.db.models import Q

from portfolio.permissions import LEADERS_GROUP
from products.models import Person


def leader_names() -> list[str]:
    """The names of the portfolio leaders who are still here: whom to ask for access."""
    return list(
        Person.objects.filter(active=True, user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name=LEADERS_GROUP))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )
