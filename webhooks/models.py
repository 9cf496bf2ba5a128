"""Outbound webhooks: endpoints leaders register, and the deliveries made to them.

Events (portfolio.models.Event) are fanned out after they commit: `FanOutCursor` is how far
the fan-out has read the event feed, by position; each matching active endpoint gets one
`Delivery` per event, which keeps its own copy of the body, so a pruned event does not stop it.
"""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portfolio.models import Event
from portfolio.permissions import AnyUser, is_leader
from portfolio.versioning import Versioned

ALL_EVENTS = "all"
URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 128


class EndpointQuerySet(models.QuerySet["Endpoint"]):
    def visible_to(self, user: AnyUser) -> Self:
        """Leaders only: an endpoint's URL and secret are the portfolio's integration keys."""
        return self if is_leader(user) else self.none()

    def editable_by(self, user: AnyUser) -> Self:
        return self.visible_to(user)


class Endpoint(Versioned):
    """A receiver of webhooks: where to POST, which event types, the shared signing secret.

    `event_types` lists names from portfolio.events.EVENT_TYPES, or holds the single value
    "all"; empty means nothing is sent. The secret is stored as given (the sender needs it to
    sign); it is shown once, when set. A paused endpoint (`active` false) gets no new
    deliveries and its pending ones wait; `paused_reason` says why when the system paused it.
    """

    url = models.URLField(max_length=URL_MAX_LENGTH)
    event_types = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    secret = models.CharField(max_length=SECRET_MAX_LENGTH, editable=False)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_reason = models.CharField(max_length=500, blank=True, editable=False)
    # Failed attempts in a row (a success sets it back to 0); WEBHOOK_PAUSE_AFTER pauses.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    pause_notice_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The feed position when it was registered: it is sent only what happens after.
    start_position = models.BigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # The sender's own bookkeeping is no edit: it must not turn a leader's edit stale.
    unversioned_fields = frozenset(
        {
            "consecutive_failures",
            "paused_at",
            "paused_reason",
            "pause_notice_sent_at",
            "active",
            "updated_at",
        }
    )

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["active"], name="webhook_endpoint_active")]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # the retry schedule is spent


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class Delivery(models.Model):
    """One event (or a ping) to send to one endpoint, with its attempts' outcome.

    `body` is the exact JSON sent (signed at each attempt with a fresh timestamp). Per
    endpoint and object, deliveries go out in `position` order: a later one waits while an
    earlier one is open. `next_attempt_at` is also the lease of an attempt in flight: a worker
    that dies mid-send leaves the row open, and it is sent again once that time passes.
    """

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.BigIntegerField(help_text="The event's feed position (0 for a ping).")
    event_type = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sender's scan: open deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="webhook_delivery_due",
            ),
            # The order rule: is an earlier delivery of this object still open?
            models.Index(
                fields=["endpoint", "object_type", "object_id", "position"],
                condition=Q(status__in=["pending", "retrying"]),
                name="webhook_delivery_open_object",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.status})"


class FanOutCursor(models.Model):
    """The one row saying how far the fan-out has read the events, by feed position."""

    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhooks fanned out through #{self.position}"
