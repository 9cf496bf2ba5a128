"""Reads of the accounts app: a user's API tokens, and whom to ask for access."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import ApiToken
from portfolio.permissions import LEADERS_GROUP, AnyUser
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


def api_tokens_of(*, user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (never the key: only its hash is stored)."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
