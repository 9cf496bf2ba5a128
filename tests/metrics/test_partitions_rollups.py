"""The readings table's monthly partitions, the roll-ups kept beside it, retention, and the
charts that read roll-ups for long ranges (metrics/partitions.py, rollups.py, selectors.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from metrics import partitions
from metrics.models import Grain, Reading, ReadingRollup, RollupPending
from metrics.rollups import rollups_rebuild, rollups_refresh
from metrics.selectors import SERIES_SQL, series, series_many, sparklines
from metrics.services import reading_delete, readings_ingest
from metrics.tasks import readings_maintain, readings_maintain_run
from tests.metrics.factories import MetricFactory
from tests.worker import wait_for

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def metric(product):
    return MetricFactory(product=product, key="latency", unit="ms", better="lower", target=200,
                         warning=300, critical=400)  # fmt: skip


@pytest.fixture
def other_metric(product):
    return MetricFactory(product=product, key="errors", unit="%")


def partition_of(reading_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM metrics_reading WHERE id = %s",
                       [reading_id])  # fmt: skip
        return cursor.fetchone()[0]


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def raw_group_by(grain: str) -> dict:
    """The roll-ups as a plain GROUP BY over the raw readings computes them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT metric_id, date_trunc(%s, taken_at, 'UTC') AS b, count(*), sum(value),
                   min(value), max(value),
                   (array_agg(value ORDER BY taken_at DESC, source))[1], max(taken_at)
              FROM metrics_reading GROUP BY metric_id, b
            """,
            [grain],
        )
        return {(m, b): rest for m, b, *rest in cursor.fetchall()}


def stored_rollups(grain: str) -> dict:
    rows = ReadingRollup.objects.filter(grain=grain).values_list(
        "metric_id", "bucket_start", "count", "sum", "min", "max", "last_value", "last_taken_at"
    )
    return {(m, b): rest for m, b, *rest in rows}


def assert_rollups_match_raw() -> None:
    for grain in (Grain.HOUR, Grain.DAY):
        expected, stored = raw_group_by(grain.value), stored_rollups(grain)
        assert set(stored) == set(expected), grain
        for key, (count, total, low, high, last, last_at) in expected.items():
            s_count, s_total, s_low, s_high, s_last, s_last_at = stored[key]
            assert (s_count, s_low, s_high, s_last, s_last_at) == (
                count, low, high, last, last_at,
            ), (grain, key)  # fmt: skip
            assert s_total == pytest.approx(total)


# --- partitions -------------------------------------------------------------------------------


def test_the_readings_table_is_partitioned_by_month():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table "
            "WHERE partrelid = 'metrics_reading'::regclass"
        )
        assert cursor.fetchone() == ("r",)
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'metrics_reading'::regclass"
        )
        children = {name for (name,) in cursor.fetchall()}
        # Django's model state is unchanged: id is the pk; the database's is (id, taken_at).
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'metrics_reading'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone() == ("PRIMARY KEY (id, taken_at)",)
    this_month = partitions.month_start(timezone.now())
    assert "metrics_reading_default" in children
    assert partitions.partition_name(this_month) in children
    assert partitions.partition_name(partitions.add_months(this_month, 3)) in children
    assert Reading._meta.pk.name == "id"


def test_a_reading_lands_in_its_months_partition_and_an_outlier_in_the_default(metric):
    now = timezone.now()
    recent = Reading.objects.create(metric=metric, taken_at=now, value=1)
    ancient = Reading.objects.create(
        metric=metric, taken_at=dt.datetime(2001, 3, 4, tzinfo=UTC), value=2
    )
    assert partition_of(recent.pk) == partitions.partition_name(partitions.month_start(now))
    assert partition_of(ancient.pk) == "metrics_reading_default"
    assert ancient.pk > recent.pk  # one sequence for every partition


def test_partitions_ahead_are_created_once():
    now = dt.datetime(2031, 11, 20, tzinfo=UTC)  # months no other test creates

    created = partitions.partitions_ensure(ahead=2, now=now)

    assert created == [
        "metrics_reading_p203111", "metrics_reading_p203112", "metrics_reading_p203201",
    ]  # fmt: skip
    assert partitions.partitions_ensure(ahead=2, now=now) == []
    names = [p.name for p in partitions.partitions_list()]
    assert names == sorted(names) and set(created) <= set(names)
    january = next(p for p in partitions.partitions_list() if p.name == "metrics_reading_p203201")
    assert (january.start, january.end) == (
        dt.datetime(2032, 1, 1, tzinfo=UTC), dt.datetime(2032, 2, 1, tzinfo=UTC),
    )  # fmt: skip


def test_default_partition_rows_move_when_their_month_gets_a_partition(metric):
    march = [
        Reading.objects.create(metric=metric, taken_at=dt.datetime(2001, 3, d, tzinfo=UTC), value=d)
        for d in (1, 31)
    ]
    april = Reading.objects.create(
        metric=metric, taken_at=dt.datetime(2001, 4, 1, tzinfo=UTC), value=9
    )
    assert {partition_of(r.pk) for r in [*march, april]} == {"metrics_reading_default"}

    assert partitions.partition_create(dt.datetime(2001, 3, 15, tzinfo=UTC)) is True

    assert {partition_of(r.pk) for r in march} == {"metrics_reading_p200103"}
    assert partition_of(april.pk) == "metrics_reading_default"
    stored = Reading.objects.filter(metric=metric).order_by("taken_at")
    assert list(stored.values_list("pk", "value")) == [
        (march[0].pk, 1.0), (march[1].pk, 31.0), (april.pk, 9.0),
    ]  # fmt: skip
    assert partitions.partition_create(dt.datetime(2001, 3, 1, tzinfo=UTC)) is False
    # `since` reaches back to it: April's rows move too
    partitions.partitions_ensure(since=dt.datetime(2001, 4, 2, tzinfo=UTC), ahead=0)
    assert partition_of(april.pk) == "metrics_reading_p200104"


def test_a_backfill_older_than_the_partitions_gets_partitions_of_its_months_only(metric):
    old = [
        Reading.objects.create(metric=metric, taken_at=at, value=1)
        for at in (dt.datetime(1999, 5, 2, tzinfo=UTC), dt.datetime(2003, 8, 30, tzinfo=UTC))
    ]
    assert {partition_of(r.pk) for r in old} == {"metrics_reading_default"}
    before = {p.name for p in partitions.partitions_list()}

    created = partitions.partitions_ensure()

    assert set(created) == {"metrics_reading_p199905", "metrics_reading_p200308"}
    assert {p.name for p in partitions.partitions_list()} - before == set(created)
    assert [partition_of(r.pk) for r in old] == created
    assert partitions.partitions_ensure() == []


# --- roll-ups ---------------------------------------------------------------------------------


def ingest(leader, rows) -> None:
    readings_ingest(actor=leader, rows=rows)


def test_rollups_equal_a_group_by_of_raw_after_ingest_and_a_correction(
    leader, metric, other_metric
):
    start = dt.datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    rows = [
        {"metric": m.pk, "time": (start + dt.timedelta(minutes=7 * i)).isoformat(),
         "value": (i * 37 + m.pk) % 101 / 3, "source": source}
        for m in (metric, other_metric) for i in range(700) for source in ("grafana", "zabbix")
        if (i + len(source)) % 3
    ]  # fmt: skip
    ingest(leader, rows)
    pending = set(RollupPending.objects.values_list("metric_id", "day"))
    days = {dt.datetime(2026, 11, d, tzinfo=UTC) for d in (2, 3, 4, 5, 6)}
    assert pending == {(m.pk, d) for m in (metric, other_metric) for d in days}

    assert rollups_refresh() == 10
    assert not RollupPending.objects.exists()
    assert_rollups_match_raw()
    assert ReadingRollup.objects.filter(grain=Grain.DAY).count() == 10

    # A correction of an old reading and a deleted one re-roll their days, and only those.
    old = rows[5]
    ingest(leader, [{**old, "value": 1e6}])
    victim = Reading.objects.filter(metric=other_metric).order_by("-taken_at").first()
    reading_delete(actor=leader, reading=victim)
    marked = set(RollupPending.objects.values_list("metric_id", "day"))
    assert marked == {
        (metric.pk, dt.datetime(2026, 11, 2, tzinfo=UTC)),
        (other_metric.pk, dt.datetime(2026, 11, 6, tzinfo=UTC)),
    }
    assert rollups_refresh() == 2
    assert_rollups_match_raw()
    assert ReadingRollup.objects.filter(max=1e6).count() == 2  # its hour and its day

    # re-running changes nothing
    before = stored_rollups(Grain.HOUR)
    assert rollups_refresh() == 0
    assert stored_rollups(Grain.HOUR) == before

    # and a rebuild from scratch (the bench generator's) computes the same
    rollups_rebuild()
    assert_rollups_match_raw()
    assert set(stored_rollups(Grain.HOUR)) == set(before)


def test_the_task_creates_partitions_and_rolls_up(metric):
    Reading.objects.create(metric=metric, taken_at=timezone.now(), value=5)

    result = readings_maintain_run()

    assert result["rolled_days"] == 1 and result["dropped"] == 0
    assert ReadingRollup.objects.filter(metric=metric).count() == 2  # its hour and its day
    assert readings_maintain_run() == {"created": 0, "dropped": 0, "rolled_days": 0}


# --- retention --------------------------------------------------------------------------------


def test_retention_drops_old_raw_partitions_and_keeps_their_rollups(metric, settings):
    now = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    partitions.partitions_ensure(since=dt.datetime(2025, 4, 1, tzinfo=UTC), ahead=0, now=now)
    old = [dt.datetime(2025, 4, 3, 10, 5, tzinfo=UTC), dt.datetime(2025, 5, 31, 23, 0, tzinfo=UTC)]
    kept = [dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2026, 6, 9, tzinfo=UTC)]
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=t, value=i) for i, t in enumerate(old + kept)
    )
    # one more, older than any partition: it sits in the default partition
    Reading.objects.create(metric=metric, taken_at=dt.datetime(2024, 1, 1, tzinfo=UTC), value=7)
    assert RollupPending.objects.count() == 5  # not rolled yet: the drop must roll them first

    # (In production the readings were committed long before; here the test's transaction
    # still holds their deferred foreign-key checks, which DROP TABLE will not leave behind.)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    dropped = partitions.partitions_drop_expired(months=12, now=now)

    assert dropped == ["metrics_reading_p202504", "metrics_reading_p202505"]
    assert not exists("metrics_reading_p202504") and exists("metrics_reading_p202506")
    assert list(Reading.objects.filter(metric=metric).values_list("taken_at", flat=True)
                .order_by("taken_at")) == kept  # fmt: skip
    days = ReadingRollup.objects.filter(metric=metric, grain=Grain.DAY)
    assert set(days.values_list("bucket_start", "count", "last_value")) == {
        (dt.datetime(2024, 1, 1, tzinfo=UTC), 1, 7.0),
        (dt.datetime(2025, 4, 3, tzinfo=UTC), 1, 0.0),
        (dt.datetime(2025, 5, 31, tzinfo=UTC), 1, 1.0),
    }  # the kept months are rolled by the task, not by retention
    assert partitions.partitions_drop_expired(months=12, now=now) == []

    # A stray reading in a dropped month lands in the default partition; it cannot replace
    # the day's roll-up (its other raw readings are gone): past retention, roll-ups are final.
    Reading.objects.create(metric=metric, taken_at=old[0] + dt.timedelta(hours=1), value=50)
    rollups_refresh(final_before=partitions.retention_cutoff(12, now))
    april = days.get(bucket_start=dt.datetime(2025, 4, 3, tzinfo=UTC))
    assert (april.count, april.max) == (1, 0.0)

    # retention off (the default): nothing is dropped
    settings.READINGS_RAW_RETENTION_MONTHS = 0
    assert partitions.partitions_drop_expired(now=now + dt.timedelta(days=900)) == []
    assert exists("metrics_reading_p202506")


# --- charts -----------------------------------------------------------------------------------


def five_minute_readings(metric, days: int, end: dt.datetime) -> None:
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=end - dt.timedelta(minutes=5 * i), value=i % 50)
        for i in range(1, days * 288)
    )


def raw_buckets(metric, start, end, width):
    with connection.cursor() as cursor:
        cursor.execute(SERIES_SQL, [width, start, metric.pk, start, end])
        return cursor.fetchall()


def test_a_year_chart_reads_rollups_and_the_pending_days_raw(metric):
    end = timezone.now()
    start = end - dt.timedelta(days=365)
    five_minute_readings(metric, 20, end)
    rollups_refresh()
    # a reading written since the last roll-up: its day is read raw
    Reading.objects.create(metric=metric, taken_at=end - dt.timedelta(seconds=30), value=1000)

    with CaptureQueriesContext(connection) as ctx:
        width, buckets = series(metric.pk, start, end)

    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert "metrics_readingrollup" in sql and "'day'" in sql
    assert width == dt.timedelta(days=2)
    assert sum(b.count for b in buckets) == 20 * 288  # every reading, the new one too
    assert max(b.high for b in buckets) == 1000
    assert len(buckets) <= 12 and all(start <= b.start < end for b in buckets)
    # the averages are those of the raw readings in the same buckets (aligned to whole days)
    first = buckets[1].start
    raw = {b: (avg, n) for b, avg, _lo, _hi, n in raw_buckets(metric, first, end, width)}
    for bucket in buckets[1:]:
        avg, n = raw[bucket.start]
        assert (bucket.count, bucket.avg) == (n, pytest.approx(avg))


def test_a_day_chart_reads_raw_readings(metric):
    end = timezone.now()
    five_minute_readings(metric, 2, end)
    rollups_refresh()
    with CaptureQueriesContext(connection) as ctx:
        width, buckets = series(metric.pk, end - dt.timedelta(days=1), end)
    assert len(ctx.captured_queries) == 1
    assert "metrics_readingrollup" not in ctx.captured_queries[0]["sql"]
    assert width == dt.timedelta(minutes=15)
    assert sum(b.count for b in buckets) == 288


@pytest.mark.parametrize("days", [3, 30])
def test_the_year_chart_svg_query_count_is_fixed(
    days, client, viewer, metric, django_assert_num_queries
):
    client.force_login(viewer)
    five_minute_readings(metric, days, timezone.now())
    rollups_refresh()
    url = reverse("metric-chart", args=[metric.pk])
    client.get(url)
    # session, user, the metric, the series (roll-ups and pending days in one statement)
    with django_assert_num_queries(4) as ctx:
        response = client.get(url, {"range": "year"})
    assert "metrics_readingrollup" in ctx.captured_queries[-1]["sql"]
    assert response.status_code == 200 and b"<polyline" in response.content


def test_sparklines_and_packet_trends_read_daily_rollups_and_pending_days_raw(metric, other_metric):
    # Noon of yesterday, not now: in the first hour of a UTC day the hourly readings below would
    # leave the window's last day empty, and the count of buckets would depend on the clock.
    end = (timezone.now() - dt.timedelta(days=1)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    start = end - dt.timedelta(days=30)
    five_minute_readings(metric, 10, end)
    Reading.objects.bulk_create(
        Reading(metric=other_metric, taken_at=end - dt.timedelta(hours=h), value=h)
        for h in range(1, 24 * 40)
    )
    rollups_refresh()
    Reading.objects.create(metric=metric, taken_at=end - dt.timedelta(seconds=10), value=999)

    with CaptureQueriesContext(connection) as ctx:
        trends = series_many([metric.pk, other_metric.pk], start, end, dt.timedelta(days=1))
    assert len(ctx.captured_queries) == 1
    assert "metrics_readingrollup" in ctx.captured_queries[0]["sql"]
    in_window = Reading.objects.filter(taken_at__gte=start, taken_at__lt=end)
    for m in (metric, other_metric):
        assert sum(b.count for b in trends[m.pk]) == in_window.filter(metric=m).count()
    assert max(b.high for b in trends[metric.pk]) == 999  # the pending day, read raw

    with CaptureQueriesContext(connection) as ctx:
        lines = sparklines([metric.pk, other_metric.pk], now=end)
    assert len(ctx.captured_queries) == 1
    assert "metrics_readingrollup" in ctx.captured_queries[0]["sql"]
    assert lines[metric.pk] == [(b.start, b.avg) for b in trends[metric.pk]]
    assert len(lines[other_metric.pk]) == 31  # the head of the window, then 30 whole days


# --- the beat's task on a real worker ---------------------------------------------------------


def test_a_real_worker_runs_the_maintenance_task_and_rolls_up_a_committed_reading(worker, metric):
    taken = timezone.now().replace(minute=7, second=0, microsecond=0)
    Reading.objects.create(metric=metric, taken_at=taken, value=12.5)
    assert RollupPending.objects.filter(metric_id=metric.pk).exists()

    readings_maintain.delay()

    wait_for(
        lambda: (
            not RollupPending.objects.exists()
            and ReadingRollup.objects.filter(metric=metric).count() == 2
        ),
        90,
        "the worker did not roll up the reading",
        worker["log"],
    )
    hour = ReadingRollup.objects.get(metric=metric, grain=Grain.HOUR)
    assert hour.bucket_start == taken.replace(minute=0)
    assert (hour.count, hour.last_value, hour.last_taken_at) == (1, 12.5, taken)
    assert "metrics.tasks.readings_maintain" in worker["log"].read_text()
