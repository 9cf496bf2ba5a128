"""API tokens: named keys a system uses to call /api/v1/ as its user."""

from __future__ import annotations

import hashlib
import secrets
from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from portfolio.permissions import AnyUser, is_leader

# The first characters of a key: shown beside the token so its owner can tell which one is
# which, and the indexed column the authentication looks a key up by. Not a secret.
PREFIX_LENGTH = 8
NAME_MAX_LENGTH = 80


def generate_key() -> str:
    """A new key: 30 random bytes (240 bits) as 40 URL-safe characters."""
    return secrets.token_urlsafe(30)


def hash_key(key: str) -> str:
    """What is stored of a key: its SHA-256, as 64 hex digits. A random 240-bit key needs no
    salt or slow hash: nobody can guess it, so a stolen hash cannot be turned back into it."""
    return hashlib.sha256(key.encode()).hexdigest()


_TokenT = TypeVar("_TokenT", bound="ApiToken")


class ApiTokenQuerySet(models.QuerySet[_TokenT]):
    def visible_to(self, user: AnyUser) -> Self:
        """Your own tokens; a leader sees everyone's (to revoke a departed person's)."""
        if not user.is_authenticated:
            return self.none()
        return self if is_leader(user) else self.filter(user=user)

    def editable_by(self, user: AnyUser) -> Self:
        return self.visible_to(user)


class ApiToken(models.Model):
    """A named key for /api/v1/, sent as `Authorization: Token <key>`.

    Only the key's hash and its first characters are stored: the key itself is shown once,
    when it is made. A user has as many tokens as integrations, each with an optional expiry;
    revoking one deletes it and leaves the others working.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Written at most once a minute per token (accounts/authentication.py).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("user", Lower("name"), name="api_token_name_unique_per_user"),
            models.UniqueConstraint(fields=["key_hash"], name="api_token_key_unique"),
            models.CheckConstraint(condition=~models.Q(name=""), name="api_token_has_name"),
        ]
        indexes = [models.Index(fields=["prefix"], name="api_token_prefix")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class PageVisit(models.Model):
    """When a login last opened a page that shows "what changed since your last visit" (My
    work). One row per login and page, rewritten at each visit."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="page_visits"
    )
    page = models.CharField(max_length=40)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "page"], name="page_visit_once_per_page"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.page} at {self.seen_at:%Y-%m-%d %H:%M}"
