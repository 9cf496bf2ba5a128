"""Reads of the accounts app shared by the token page and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiToken
from portfolio.permissions import AnyUser


def api_tokens_of(*, user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (never the key: only its hash is stored)."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
