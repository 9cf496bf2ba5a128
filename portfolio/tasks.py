"""Background jobs of the portfolio app.

When a person departs, every unit they owned is left without an accountable owner until a
leader names a new one. `notify_units_orphaned` tells the portfolio leaders which units those
are; the departure path dispatches it on commit through `dispatch_departure_notice`.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, transaction

from portfolio.models import Person
from portfolio.permissions import LEADERS_GROUP
from products.models import OwnershipUnit, UnitKind

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

    Safe to run again: it reads the current state and sends nothing when the person is back,
    owns no live unit any more (a leader already reassigned them), or no leader has an email.
    """
    person = Person.objects.filter(pk=person_id).first()
    if person is None or person.active:
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
    logger.info("Orphaned-unit notice for person %s sent to %d leaders", person_id, sent)
    return {"person": person_id, "units": len(units), "sent": sent}


class _DepartureNotice:
    """The on-commit callback of one departure; equal for the same person, so it runs once."""

    def __init__(self, person_id: int) -> None:
        self.person_id = person_id

    def __call__(self) -> None:
        notify_units_orphaned.delay(self.person_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DepartureNotice) and other.person_id == self.person_id

    def __hash__(self) -> int:
        return hash(("departure", self.person_id))


def dispatch_departure_notice(person: Person) -> None:
    """Queue the leaders' notice for `person`'s departure once the transaction commits.

    Nothing is sent if the transaction rolls back; asking twice in one transaction (say, the
    service and a caller both do) queues a single notice.
    """
    notice = _DepartureNotice(person.pk)
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback == notice for _, callback, *_ in connection.run_on_commit
    ):
        return
    transaction.on_commit(notice)


# --- Portfolio analytics -----------------------------------------------------------------------


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def compute_portfolio_analytics(self, snapshot_id: int | None = None, wait: bool = False) -> dict:
    """Compute a new analytics snapshot (beat runs it hourly; leaders can ask for one now).

    Safe to run twice at once: a second scheduled run skips while one holds the lock; a run a
    leader asked for waits its turn. Acknowledged late, so a killed worker's run is redone; a
    transient database error retries it on the same snapshot row.
    """
    from portfolio.analytics.compute import Skipped, run_snapshot
    from portfolio.analytics.models import Snapshot, SnapshotStatus, Trigger

    snapshot = None
    if snapshot_id is not None:
        snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
        if snapshot is None or snapshot.status == SnapshotStatus.DONE:
            return {"snapshot": snapshot_id, "status": "done" if snapshot else "gone"}
    try:
        done = run_snapshot(
            trigger=snapshot.trigger if snapshot else Trigger.SCHEDULE,
            snapshot=snapshot,
            task_id=self.request.id or "",
            wait=wait,
        )
    except Skipped:
        logger.info("Analytics run skipped: another run holds the lock")
        return {"snapshot": None, "status": "skipped"}
    prune_snapshots()
    return {"snapshot": done.pk, "status": done.status}


KEEP_ALL_DAYS = 14


def prune_snapshots() -> int:
    """Keep every snapshot of the last two weeks and, before that, the last finished one of
    each week (what the weekly rules and the trends read). Failed runs go after a day."""
    from django.db import connection
    from django.utils import timezone

    from portfolio.analytics.models import Snapshot, SnapshotStatus

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (date_trunc('week', started_at)) id FROM portfolio_snapshot "
            "WHERE status = 'done' "
            "ORDER BY date_trunc('week', started_at), started_at DESC, id DESC"
        )
        weekly = [row[0] for row in cursor.fetchall()]
    now = timezone.now()
    old = (
        Snapshot.objects.filter(started_at__lt=now - dt.timedelta(days=KEEP_ALL_DAYS))
        .exclude(pk__in=weekly)
        .exclude(status=SnapshotStatus.RUNNING)
    )
    failed = Snapshot.objects.filter(
        status=SnapshotStatus.FAILED, started_at__lt=now - dt.timedelta(days=1)
    )
    deleted = old.delete()[0] + failed.delete()[0]
    return deleted
