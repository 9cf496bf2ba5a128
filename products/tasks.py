"""Background jobs of the catalogue.

When a person departs, every unit they owned is left without an accountable owner until a
leader names a new one. `notify_units_orphaned` tells the portfolio leaders which units those
are; the departure path dispatches it through the outbox (`dispatch_departure_notice` in
products/services.py).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import OperationalError, transaction

from portfolio.permissions import LEADERS_GROUP
from products.models import OwnershipUnit, Person, UnitKind
from products.services import departure_notice_claim, departure_notice_record

logger = logging.getLogger(__name__)


def leader_emails() -> list[str]:
    """Addresses of the active portfolio leaders, in a stable order."""
    users = (
        get_user_model()
        .objects.filter(groups__name=LEADERS_GROUP, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(users)


def _orphan_notice(person: Person, units) -> tuple[str, str]:
    # SITE_URL (e.g. https://portfolio.example.org), when set, makes the links absolute.
    site_url = getattr(settings, "SITE_URL", "").rstrip("/")
    count = len(units)
    subject = f"{person.name} has left: {count} unit{'s' if count != 1 else ''} need an owner"
    lines = [
        f"{person.name} left on {person.departed_on:%d %b %Y}. Until a portfolio leader names "
        "a new owner, nobody is accountable for the improvement, operations and support of:",
        "",
    ]
    for unit in units:
        members = sorted(p.name for p in unit.products.all())
        detail = f" ({', '.join(members)})" if unit.kind == UnitKind.CLUSTER and members else ""
        lines.append(f"- {unit.name}{detail}: {site_url}{unit.get_absolute_url()}")
    lines += [
        "",
        "Assign an owner to each of them from its page, or group them into a cluster that "
        "an existing owner can carry within the ownership ceiling.",
    ]
    return subject, "\n".join(lines)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def notify_units_orphaned(person_id: int) -> dict:
    """Email the portfolio leaders the units a departed person leaves without an owner.

    Once per departure, however often it is delivered: the person's row is locked, the notice
    sent and `departure_notice_sent_at` stamped in one transaction. It reads the current state
    and sends nothing when the person is back, owns no live unit any more (a leader already
    reassigned them), or no leader has an email.
    """
    with transaction.atomic():
        person = departure_notice_claim(person_id=person_id)
        if person is None:
            return {"person": person_id, "units": 0, "sent": 0}
        units = list(
            OwnershipUnit.objects.current()
            .filter(owner=person)
            .select_related("cluster", "product")
            .prefetch_related("products")
            .order_by("id")
        )
        recipients = leader_emails()
        if not units or not recipients:
            return {"person": person_id, "units": len(units), "sent": 0}
        subject, body = _orphan_notice(person, units)
        sent = send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        departure_notice_record(person=person)
    logger.info("Orphaned-unit notice for person %s sent to %d leaders", person_id, sent)
    return {"person": person_id, "units": len(units), "sent": sent}
