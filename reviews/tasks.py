"""Background jobs of the quarterly reviews: packets (data and HTML, then the PDF) and the
owners' reminders. Each task takes ids, reads the current state, and is safe to run again."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from portfolio.models import PortfolioSettings
from reviews.models import Packet, PacketStatus, Review, ReviewStatus
from reviews.packets import build_packet_data, render_packet_html, render_packet_pdf

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
    """Freeze the review's data into the packet and render its HTML; then queue the PDF.

    A packet already generated is left alone (its data never changes), so a redelivered task
    does nothing twice. `pdf=False` leaves the PDF to a later `render_pdf` (the demo prints
    only some; the benchmark times the HTML alone).
    """
    packet = Packet.objects.filter(pk=packet_id).select_related("review").first()
    if packet is None:
        return {"packet": packet_id, "status": "gone"}
    if packet.status == PacketStatus.DONE:
        if pdf and packet.pdf_at is None:
            render_pdf.delay(packet_id)
        return {"packet": packet_id, "status": "done"}
    try:
        data = build_packet_data(packet.review)
        html = render_packet_html(data)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("Packet %s failed", packet_id)
        Packet.objects.filter(pk=packet_id).update(
            status=PacketStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return {"packet": packet_id, "status": "failed"}
    with transaction.atomic():
        updated = (
            Packet.objects.filter(pk=packet_id)
            .exclude(status=PacketStatus.DONE)
            .update(
                data=data,
                html=html,
                status=PacketStatus.DONE,
                generated_at=timezone.now(),
                error="",
            )
        )
        if updated and pdf:
            transaction.on_commit(lambda: render_pdf.delay(packet_id))
    return {"packet": packet_id, "status": "done"}


@shared_task(**RETRY)
def render_pdf(packet_id: int) -> dict:
    """Print the packet's stored HTML to PDF (the HTML, not the live data: it stays frozen)."""
    packet = Packet.objects.filter(pk=packet_id).only("status", "html", "pdf_at").first()
    if packet is None or packet.status != PacketStatus.DONE:
        return {"packet": packet_id, "pdf": False}
    if packet.pdf_at is not None:
        return {"packet": packet_id, "pdf": True}
    pdf = render_packet_pdf(packet.html)
    Packet.objects.filter(pk=packet_id, pdf_at__isnull=True).update(pdf=pdf, pdf_at=timezone.now())
    return {"packet": packet_id, "pdf": True, "bytes": len(pdf)}


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
            claimed = Review.objects.filter(pk=review.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=timezone.now()
            )
            if claimed:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
                sent += 1
    return {"day": day.isoformat(), "sent": sent}
