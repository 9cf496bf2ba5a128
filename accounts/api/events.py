"""The API bodies of the accounts app's objects for their events (portfolio/events.py): a
token as its endpoint lists it (never the key), registered in AccountsConfig.ready()."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accounts.api.serializers import API_TOKEN, now_context
from accounts.models import ApiToken
from portfolio import events


def api_tokens(ids: Sequence[int]) -> dict[int, Any]:
    rows = list(ApiToken.objects.filter(pk__in=ids).values(*API_TOKEN.columns))
    bodies = API_TOKEN.many(rows, **now_context())
    return {row["id"]: body for row, body in zip(rows, bodies, strict=True)}


def register() -> None:
    events.register_representation("api_token", api_tokens)
