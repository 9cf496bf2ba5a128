"""The API's webhook resources: endpoints (never their secret, except once when set) and
their deliveries; what the API takes in."""

from __future__ import annotations

from rest_framework import serializers

from portfolio.api.rows import Column, Output, iso_datetime
from webhooks.models import (
    DESCRIPTION_MAX_LENGTH,
    SECRET_MAX_LENGTH,
    URL_MAX_LENGTH,
    DeliveryStatus,
)

ENDPOINT = Output(
    "WebhookEndpointSerializer",
    Column("id", serializers.IntegerField()),
    Column("url", serializers.URLField()),
    Column("description", serializers.CharField()),
    Column(
        "event_types",
        serializers.ListField(
            child=serializers.CharField(),
            help_text='Event type names (docs/api.md, "Events"), or ["all"]; [] sends nothing.',
        ),
    ),
    Column(
        "active",
        serializers.BooleanField(help_text="False: paused, by a leader or after failures."),
    ),
    Column("paused_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "paused_reason",
        serializers.CharField(help_text="Why the system paused it; empty otherwise."),
    ),
    Column(
        "consecutive_failures",
        serializers.IntegerField(help_text="Failed attempts in a row; a success resets it."),
    ),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("version", serializers.IntegerField(help_text="Send it back with an edit.")),
    doc="A webhook endpoint. Its secret is answered only when it is set (create, rotate).",
)
WebhookEndpointSerializer = ENDPOINT.serializer


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):  # type: ignore[misc, valid-type]
    secret = serializers.CharField(
        help_text="The shared signing secret: answered this once, never again."
    )


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=200, allow_empty=True
    )
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
    )
    active = serializers.BooleanField(required=False)


class WebhookEndpointCreateSerializer(WebhookEndpointInputSerializer):
    secret = serializers.CharField(
        max_length=SECRET_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Leave out to have one made (answered once).",
    )


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(max_length=SECRET_MAX_LENGTH, required=False, allow_blank=True)


DELIVERY = Output(
    "WebhookDeliverySerializer",
    Column("id", serializers.IntegerField(help_text="Sent as X-Portfolio-Delivery.")),
    Column("event", serializers.IntegerField(allow_null=True), "event_id"),
    Column("event_type", serializers.CharField()),
    Column("object_type", serializers.CharField()),
    Column("object_id", serializers.IntegerField()),
    Column(
        "status",
        serializers.CharField(
            help_text=" | ".join(str(value) for value in DeliveryStatus.values)
            + ": pending (not yet tried), retrying (failed, tried again at next_attempt_at), "
            "delivered (a 2xx answer), failed (every retry failed)."
        ),
    ),
    Column("attempts", serializers.IntegerField()),
    Column("response_code", serializers.IntegerField(allow_null=True)),
    Column("duration_ms", serializers.IntegerField(allow_null=True)),
    Column("error", serializers.CharField()),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("last_attempt_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "next_attempt_at",
        serializers.DateTimeField(help_text="When an open delivery is tried next."),
        convert=iso_datetime,
    ),
    Column("delivered_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "redelivery_of",
        serializers.IntegerField(allow_null=True, help_text="The delivery it sends again."),
        "redelivery_of_id",
    ),
    doc="One event sent (or to send) to one endpoint.",
)
WebhookDeliverySerializer = DELIVERY.serializer
