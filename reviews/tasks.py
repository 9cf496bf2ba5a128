"""Background jobs of the quarterly reviews: packets (data and HTML, then the PDF) and the
owners' reminders. Each task takes ids and calls a service that locks the row, checks its
state and writes: safe to run again, and dispatched only through the outbox."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from portfolio.models import PortfolioSettings
from reviews.models import Review, ReviewStatus
from reviews.services import packet_generate, packet_print, review_reminder_claim

logger = logging.getLogger(__name__)

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def generate_packet(packet_id: int, pdf: bool = True) -> dict:
    """Generate the packet (`packet_generate`), then queue its PDF unless `pdf=False` (the demo
    prints only some; the benchmark times the HTML alone). A redelivery does nothing twice."""
    return {"packet": packet_id, "status": packet_generate(packet_id=packet_id, pdf=pdf)}


@shared_task(**RETRY)
def render_pdf(packet_id: int) -> dict:
    """Print the packet's PDF (`packet_print`); once, however often it is delivered."""
    size = packet_print(packet_id=packet_id)
    if size is None:
        return {"packet": packet_id, "pdf": False}
    return {"packet": packet_id, "pdf": True, **({"bytes": size} if size else {})}


@shared_task(**RETRY)
def send_review_reminders(today: str | None = None) -> dict:
    """Email each owner whose review is `review_reminder_days` away or closer (once per review).

    Scheduled daily by beat; running it twice sends nothing twice.
    """
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    horizon = day + dt.timedelta(days=PortfolioSettings.load().review_reminder_days)
    due = (
        Review.objects.filter(
            status=ReviewStatus.SCHEDULED,
            reminder_sent_at__isnull=True,
            scheduled_on__gte=day,
            scheduled_on__lte=horizon,
            unit__owner__active=True,
        )
        .exclude(unit__owner__email="")
        .select_related("cycle", "unit__owner", "unit__cluster", "unit__product")
        .order_by("scheduled_on", "id")
    )
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    sent = 0
    for review in due:
        owner = review.unit.owner
        assert owner is not None  # the query asks for the unit's active owner
        subject = (
            f"Your {review.cycle.label} review of {review.unit.name} is on "
            f"{review.scheduled_on:%a %d %b}"
        )
        body = "\n".join(
            [
                f"Hello {owner.name},",
                "",
                f"The quarterly review of {review.unit.name} is on "
                f"{review.scheduled_on:%A %d %B %Y}.",
                "Look at its packet beforehand: metrics, backlog health, owner load and the "
                "follow-through on the last review's actions.",
                "",
                f"{site}{review.get_absolute_url()}",
            ]
        )
        with transaction.atomic():
            if review_reminder_claim(review=review):
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
                sent += 1
    return {"day": day.isoformat(), "sent": sent}
