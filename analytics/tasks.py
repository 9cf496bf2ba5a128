"""Background jobs of the portfolio analytics: the hourly snapshot and its pruning."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from analytics.compute import Skipped, run_snapshot
from analytics.models import Snapshot, SnapshotStatus, Trigger

logger = logging.getLogger(__name__)


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

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (date_trunc('week', started_at)) id FROM analytics_snapshot "
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
