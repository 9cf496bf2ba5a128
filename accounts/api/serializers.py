"""The API's accounts resources: API tokens as the API answers them (never the key, except once
when made) and as it takes them in; sign-in lockouts and unlocking one."""

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


class LockoutSerializer(serializers.Serializer):
    """A sign-in lockout in force (output only)."""

    username = serializers.CharField(
        allow_null=True,
        help_text="The locked username; null when every username from the address is locked.",
    )
    ip_address = serializers.IPAddressField(
        allow_null=True,
        help_text="The locked address; null when the username is locked from every address.",
    )
    failures = serializers.IntegerField(help_text="Wrong passwords counted in the window.")
    last_attempt = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="When the lockout ends by itself.")
    seen = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "For a username: the addresses its failures came from; for an address: the "
            "usernames it tried."
        ),
    )


class UnlockSerializer(serializers.Serializer):
    """Which lockout to lift: a username, an address, or both for the pair."""

    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    ip_address = serializers.IPAddressField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("username") and not attrs.get("ip_address"):
            raise serializers.ValidationError(
                {"username": ["Name the username or the address to unlock."]}
            )
        return attrs


class UnlockedSerializer(serializers.Serializer):
    removed = serializers.IntegerField(
        help_text="How many failure records were forgotten (0: it was not locked any more)."
    )
