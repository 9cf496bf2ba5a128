"""The lockouts in the API: what a lockout looks like and what unlocking takes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


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
