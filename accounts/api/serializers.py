"""API tokens as the API answers them (never the key, except once when made) and as it takes
them in."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.models import NAME_MAX_LENGTH
from portfolio.api.rows import Column, Contextual, Output, iso_datetime


def _expired(row: dict[str, Any], context: dict[str, Any]) -> bool:
    expires_at = row["expires_at"]
    return expires_at is not None and expires_at <= context["now"]


API_TOKEN = Output(
    "ApiTokenSerializer",
    Column("id", serializers.IntegerField()),
    Column("name", serializers.CharField(help_text="What the token is for, unique per user.")),
    Column(
        "prefix",
        serializers.CharField(
            help_text="The key's first characters, to tell tokens apart (not a secret)."
        ),
    ),
    Column("user", serializers.IntegerField(help_text="The login's id."), "user_id"),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column(
        "expires_at",
        serializers.DateTimeField(allow_null=True, help_text="Null: no end date."),
        convert=iso_datetime,
    ),
    Column(
        "last_used_at",
        serializers.DateTimeField(
            allow_null=True, help_text="Null: never used. Updated at most once a minute."
        ),
        convert=iso_datetime,
    ),
    Contextual(
        "expired",
        serializers.BooleanField(help_text="Past its expiry: it no longer works."),
        _expired,
        reads=("expires_at",),
    ),
    doc="An API token. The key itself is answered once, when the token is made.",
)
ApiTokenSerializer = API_TOKEN.serializer


class ApiTokenCreatedSerializer(ApiTokenSerializer):  # type: ignore[misc, valid-type]
    """The token just made, with its key: the only time the key is ever answered."""

    key = serializers.CharField(
        help_text="Send it as `Authorization: Token <key>`. It is not stored and never shown again."
    )


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional; must be in the future. Without it the token has no end date.",
    )


def now_context() -> dict[str, Any]:
    return {"now": timezone.now()}
