"""Hourly and daily roll-ups of readings (`ReadingRollup`): count, sum, min, max and the last
value of each metric per UTC hour and per UTC day.

How they stay exact: a trigger on the readings table (migration 0004) lists every
(metric, UTC day) a statement wrote, corrected or deleted in `RollupPending`, in the writer's
transaction; `rollups_refresh` (the beat task `readings-maintain`) takes pending days, deletes
their roll-ups and computes them again from the raw readings: hours from readings, the day
from its hours. Re-running it changes nothing; a correction of an old reading re-rolls its
day. Until a day is rolled, charts read it from the raw readings (metrics/selectors.py), so
they are never stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction

from metrics.models import Grain, Reading, ReadingRollup, RollupPending

READINGS = Reading._meta.db_table
ROLLUPS = ReadingRollup._meta.db_table
PENDING = RollupPending._meta.db_table
BATCH_DAYS = 5_000

_COLUMNS = "metric_id, grain, bucket_start, count, sum, min, max, last_value, last_taken_at"
# Ties at the same time go to the first source by name, as the metric's latest value does.
_HOURS_SELECT = f"""
    SELECT r.metric_id, '{Grain.HOUR.value}', date_trunc('hour', r.taken_at, 'UTC') AS bucket,
           count(*), sum(r.value), min(r.value), max(r.value),
           (array_agg(r.value ORDER BY r.taken_at DESC, r.source))[1], max(r.taken_at)
"""
_DAYS_SELECT = f"""
    SELECT h.metric_id, '{Grain.DAY.value}', date_trunc('day', h.bucket_start, 'UTC') AS bucket,
           sum(h.count), sum(h.sum), min(h.min), max(h.max),
           (array_agg(h.last_value ORDER BY h.bucket_start DESC))[1], max(h.last_taken_at)
"""

# The days listed in the temporary table `rolling_days`, computed again.
RECOMPUTE_SQL = [
    f"""
    DELETE FROM {ROLLUPS} x USING rolling_days d
     WHERE x.metric_id = d.metric_id
       AND x.bucket_start >= d.day AND x.bucket_start < d.day + interval '24 hours'
    """,
    f"""
    INSERT INTO {ROLLUPS} ({_COLUMNS})
    {_HOURS_SELECT}
      FROM rolling_days d
      JOIN {READINGS} r ON r.metric_id = d.metric_id
                       AND r.taken_at >= d.day AND r.taken_at < d.day + interval '24 hours'
     GROUP BY r.metric_id, bucket
    """,
    f"""
    INSERT INTO {ROLLUPS} ({_COLUMNS})
    {_DAYS_SELECT}
      FROM rolling_days d
      JOIN {ROLLUPS} h ON h.metric_id = d.metric_id AND h.grain = '{Grain.HOUR.value}'
                      AND h.bucket_start >= d.day AND h.bucket_start < d.day + interval '24 hours'
     GROUP BY h.metric_id, bucket
    """,
]


def _rolling_days(cursor) -> None:
    cursor.execute(
        "DROP TABLE IF EXISTS pg_temp.rolling_days; "
        "CREATE TEMP TABLE rolling_days (metric_id bigint, day timestamptz) ON COMMIT DROP"
    )


@transaction.atomic
def rollups_refresh(
    *,
    before: dt.datetime | None = None,
    final_before: dt.datetime | None = None,
    limit: int | None = BATCH_DAYS,
) -> int:
    """Roll up pending days (up to `limit`, those before `before` if given); returns how many.

    Days before `final_before` (the raw-retention cutoff) are final: their raw readings are
    gone, so a stray reading written there since must not replace the day's roll-up; their
    pending marks are dropped. Concurrent runs take different days (SKIP LOCKED).
    """
    with connection.cursor() as cursor:
        if final_before is not None:
            cursor.execute(f"DELETE FROM {PENDING} WHERE day < %s", [final_before])
        _rolling_days(cursor)
        cursor.execute(
            f"""
            WITH claimed AS (
                DELETE FROM {PENDING} p
                 WHERE p.id IN (SELECT id FROM {PENDING}
                                 WHERE %s::timestamptz IS NULL OR day < %s
                                 ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING p.metric_id, p.day
            )
            INSERT INTO rolling_days SELECT metric_id, day FROM claimed
            """,
            [before, before, limit],
        )
        days = cursor.rowcount
        if days:
            for sql in RECOMPUTE_SQL:
                cursor.execute(sql)
        cursor.execute("DROP TABLE rolling_days")
    return days


@transaction.atomic
def rollups_rebuild(metric_ids: Iterable[int] | None = None) -> int:
    """Compute the roll-ups of these metrics (default: all) from scratch, in two
    INSERT ... SELECT ... GROUP BY statements over the raw readings: what the bench generator
    runs after its COPY, and an operator after loading readings behind the trigger's back.
    Returns the number of hourly buckets."""
    ids = None if metric_ids is None else list(metric_ids)
    where = "" if ids is None else "WHERE metric_id = ANY(%s)"
    params = [] if ids is None else [ids]
    with connection.cursor() as cursor:
        # The GROUP BYs sort every reading: with room for it the sort stays in memory longer
        # (a setting local to this transaction).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"DELETE FROM {ROLLUPS} {where}", params)
        cursor.execute(f"DELETE FROM {PENDING} {where}", params)
        cursor.execute(
            f"INSERT INTO {ROLLUPS} ({_COLUMNS}) {_HOURS_SELECT} FROM {READINGS} r "
            f"{where.replace('metric_id', 'r.metric_id')} GROUP BY r.metric_id, bucket",
            params,
        )
        hours = cursor.rowcount
        hourly = f"h.grain = '{Grain.HOUR.value}'"
        cursor.execute(
            f"INSERT INTO {ROLLUPS} ({_COLUMNS}) {_DAYS_SELECT} FROM {ROLLUPS} h "
            f"WHERE {hourly} {'' if ids is None else 'AND h.metric_id = ANY(%s)'} "
            "GROUP BY h.metric_id, bucket",
            params,
        )
    return hours
