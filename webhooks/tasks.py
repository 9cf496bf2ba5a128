"""Background jobs of the webhooks app: the tick that fans out and sends, and the notice to
leaders that an endpoint was paused."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import OperationalError, transaction
from django.urls import reverse

from portfolio.permissions import LEADERS_GROUP
from webhooks import services

logger = logging.getLogger(__name__)

# A tick stops starting new batches after this long; the next tick goes on.
TICK_BUDGET = 30.0


def run_tick(*, budget: float = TICK_BUDGET) -> dict[str, int]:
    """Fan out every committed event not yet fanned out, then send what is due, batch after
    batch, until nothing is left or `budget` seconds are spent. Safe anywhere and in several
    workers at once (the cursor and the deliveries are locked with SKIP LOCKED)."""
    deadline = time.monotonic() + budget
    events = 0
    while time.monotonic() < deadline:
        read = services.fan_out()
        events += read
        if read < services.FANOUT_BATCH:
            break
    results = []
    while time.monotonic() < deadline:
        result = services.deliver_due()
        if not result:
            break
        results.append(result)
    return {"events": events, **services.outcome_counts(results)}


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=120, time_limit=150)
def webhook_tick() -> dict[str, int]:
    """The beat's `webhook-tick` (every WEBHOOK_TICK_EVERY s) and the on-commit nudge."""
    return run_tick()


@shared_task(ignore_result=True)
def prune_deliveries() -> int:
    """Delete finished deliveries past WEBHOOK_LOG_DAYS (beat, daily); re-runnable."""
    return services.prune_deliveries()


def leader_emails() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(groups__name=LEADERS_GROUP, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(users)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def notify_endpoint_paused(endpoint_id: int) -> dict:
    """E-mail the leaders that an endpoint was paused for its failures: once per pause."""
    with transaction.atomic():
        endpoint = services.pause_notice_claim(endpoint_id=endpoint_id)
        if endpoint is None:
            return {"endpoint": endpoint_id, "sent": 0}
        recipients = leader_emails()
        site_url = getattr(settings, "SITE_URL", "").rstrip("/")
        link = site_url + reverse("webhook-detail", args=[endpoint.pk])
        subject = f"Webhooks to {endpoint} are paused"
        body = "\n".join(
            [
                f"Webhooks to {endpoint.url} were paused: {endpoint.paused_reason}",
                "",
                "Nothing more is sent to it until a portfolio leader resumes it; the deliveries "
                "still pending wait and are sent, in order, once it is resumed. The delivery "
                f"log shows what the receiver answered: {link}",
            ]
        )
        sent = (
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients) if recipients else 0
        )
        services.pause_notice_record(endpoint=endpoint)
    logger.warning("Webhook endpoint %s paused; %d leaders told", endpoint_id, sent)
    return {"endpoint": endpoint_id, "sent": sent}
