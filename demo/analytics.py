"""The demo's portfolio analytics, computed as the hourly job does, with a few weeks of past
snapshots so the rules that read earlier ones have something to read."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import Snapshot, SnapshotStatus, Trigger
from demo.common import BuildState

ANALYTICS_HISTORY_WEEKS = 3  # weekly snapshots before the first build (crowding needs 3 of 4)


def seed_analytics(state: BuildState, *, again_today: bool = False) -> None:
    """A finished analytics snapshot from today, as the hourly job would leave one.

    The first build (no snapshot at all yet) first computes ANALYTICS_HISTORY_WEEKS
    weekly snapshots with the clock set back one, two and three weeks, so the rules that
    read earlier snapshots have a past: an owner over the ceiling in consecutive snapshots
    (a design problem) and crowding seen in enough weekly snapshots. Later builds add at
    most one snapshot a day, none if one finished today, so seeding again and again does
    not pile them up; the dashboard's "Recompute now" makes a fresh one any time.
    """
    now = timezone.now()
    snapshots = Snapshot.objects.all()
    today = snapshots.filter(status=SnapshotStatus.DONE, started_at__date=timezone.localdate())
    if today.exists() and not again_today:
        return
    if not snapshots.exists():
        for weeks in range(ANALYTICS_HISTORY_WEEKS, 0, -1):
            _snapshot(state, now - dt.timedelta(weeks=weeks))
    _snapshot(state, now)


def _snapshot(state: BuildState, at: dt.datetime) -> None:
    started = time.monotonic()
    snapshot = run_snapshot(trigger=Trigger.SCHEDULE, wait=True, now=at)
    # A run with the clock set back finishes as long after its start as it took.
    took = dt.timedelta(seconds=time.monotonic() - started)
    Snapshot.objects.filter(pk=snapshot.pk).update(finished_at=at + took)
    state.report.count("analytics snapshot", True)
