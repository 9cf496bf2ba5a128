"""Monthly partitions of the readings table (declarative partitioning by range of `taken_at`).

Migration 0003 made `metrics_reading` a partitioned table: one partition per UTC month named
`metrics_reading_pYYYYMM`, and `metrics_reading_default` for anything outside them. These
functions keep it that way; the beat task `metrics.tasks.readings_maintain`, the tests and the
bench generator call them, and each is re-runnable:

- `partitions_ensure` creates the months from now (or an earlier `since`) to
  READINGS_PARTITIONS_AHEAD months ahead, and the earlier months whose readings (a
  backfill) wait in the default partition. A reading that arrives beyond them lands in the
  default partition; when its month's partition is made later, its rows move out of the
  default in the same transaction (PostgreSQL refuses a partition whose range has rows in
  the default).
- `partitions_drop_expired` drops whole months older than READINGS_RAW_RETENTION_MONTHS,
  after rolling up what is pending for them (the roll-ups are kept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from metrics.models import Reading
from metrics.rollups import rollups_refresh

TABLE = Reading._meta.db_table
DEFAULT = f"{TABLE}_default"
COLUMNS = "id, taken_at, value, source, created_at, updated_at, metric_id"
# pg_advisory_xact_lock key: one partition change at a time ("readings partitions").
LOCK_KEY = 0x52454144


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime
    end: dt.datetime


def month_start(moment: dt.datetime) -> dt.datetime:
    """The first instant of `moment`'s UTC month."""
    utc = moment.astimezone(dt.UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(month: dt.datetime, n: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + n
    return month.replace(year=index // 12, month=index % 12 + 1)


def partition_name(month: dt.datetime) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def partitions_list() -> list[Partition]:
    """The monthly partitions, oldest first (the default partition left out)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = %s::regclass
            """,
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for (name,) in rows:
        if not name.startswith(f"{TABLE}_p"):
            continue
        month = dt.datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m").replace(tzinfo=dt.UTC)
        found.append(Partition(name, month, add_months(month, 1)))
    return sorted(found, key=lambda p: p.start)


def _lock(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


@transaction.atomic
def partition_create(month: dt.datetime) -> bool:
    """Create the partition of `month` (its first instant, UTC) if it is missing, moving its
    rows out of the default partition. False if it was already there."""
    month = month_start(month)
    name, end = partition_name(month), add_months(month, 1)
    with connection.cursor() as cursor:
        _lock(cursor)
        if _exists(cursor, name):
            return False
        # Straight from partition to partition: the rows keep their ids and their roll-ups
        # stay right, so the readings table's triggers need not (and do not) fire.
        cursor.execute(
            f"""
            CREATE TEMP TABLE moving_readings ON COMMIT DROP AS
            WITH moved AS (
                DELETE FROM {DEFAULT} WHERE taken_at >= %s AND taken_at < %s
                RETURNING {COLUMNS}
            )
            SELECT * FROM moved
            """,
            [month, end],
        )
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
            [month, end],
        )
        cursor.execute(f"INSERT INTO {name} ({COLUMNS}) SELECT {COLUMNS} FROM moving_readings")
        cursor.execute("DROP TABLE moving_readings")
    return True


def partitions_ensure(
    *, ahead: int | None = None, since: dt.datetime | None = None, now: dt.datetime | None = None
) -> list[str]:
    """Every month from `since` (default: this month) to `ahead` months after this one has
    its partition; returns the names created."""
    if ahead is None:
        ahead = settings.READINGS_PARTITIONS_AHEAD
    current = month_start(now or timezone.now())
    month = min(month_start(since), current) if since else current
    last = add_months(current, ahead)
    created = []
    while month <= last:
        if partition_create(month):
            created.append(partition_name(month))
        month = add_months(month, 1)
    # A backfill older than the partitions waits in the default: give those months (only the
    # ones that have rows, so one stray old date makes one partition, not decades of them)
    # their own partitions, so retention and range scans see them like any other month.
    for month in _months_waiting(before=current):
        if partition_create(month):
            created.append(partition_name(month))
    return created


def _months_waiting(*, before: dt.datetime) -> list[dt.datetime]:
    """The UTC months of the readings in the default partition taken before `before`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', taken_at, 'UTC') FROM {DEFAULT} "
            "WHERE taken_at < %s ORDER BY 1",
            [before],
        )
        return [row[0] for row in cursor.fetchall()]


def retention_cutoff(
    months: int | None = None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Raw readings taken before this instant are past retention: `months` (default
    READINGS_RAW_RETENTION_MONTHS) whole months before the current one. None: kept forever."""
    if months is None:
        months = settings.READINGS_RAW_RETENTION_MONTHS
    if not months:
        return None
    return add_months(month_start(now or timezone.now()), -months)


def partitions_drop_expired(
    *, months: int | None = None, now: dt.datetime | None = None
) -> list[str]:
    """Drop the monthly partitions (and default-partition rows) older than `months` whole
    months (default READINGS_RAW_RETENTION_MONTHS; 0 keeps everything). Their pending
    roll-ups are computed first, in the same transaction, with the dropped partitions locked:
    what is dropped is summed up already and stays on the charts."""
    cutoff = retention_cutoff(months, now)
    if cutoff is None:
        return []
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor)
        expired = [p.name for p in partitions_list() if p.end <= cutoff]
        for name in [*expired, DEFAULT]:
            cursor.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        rollups_refresh(before=cutoff, limit=None)
        for name in expired:
            cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE taken_at < %s", [cutoff])
    return dropped
