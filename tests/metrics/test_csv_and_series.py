"""CSV imports with their line-by-line report, and chart series bucketed by the database."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics import charts, services
from metrics.models import Reading
from metrics.selectors import bucket_width, series, sparklines
from tests.metrics.factories import MetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def metric(product):
    return MetricFactory(product=product, key="availability", unit="%")


def test_csv_happy_path_reports_each_line(owner, metric):
    data = (
        "Metric,Time,Value,Source\r\n"
        "payroll/availability,2026-11-01T00:00:00Z,99.91,probe\r\n"
        "\r\n"
        f"{metric.pk},2026-11-02T00:00:00Z,99.2,\r\n"
    ).encode("utf-8-sig")
    report = services.readings_import_csv(actor=owner, data=data)
    assert report.ok and report.problem == ""
    assert [(line.line, line.outcome) for line in report.lines] == [(2, "created"), (4, "created")]
    assert report.result.created == 2
    assert dict(Reading.objects.values_list("source", "value")) == {"probe": 99.91, "csv": 99.2}
    again = services.readings_import_csv(actor=owner, data=data)
    assert [line.outcome for line in again.lines] == ["unchanged", "unchanged"]
    assert Reading.objects.count() == 2


def test_csv_with_bad_lines_names_each_and_stores_nothing(owner, metric):
    data = (
        b"metric,time,value,unit\n"
        b"payroll/availability,2026-11-01T00:00:00Z,99.9,%\n"
        b"payroll/availability,2026-11-02T00:00:00Z,lots,%\n"
        b"payroll/uptime,2026-11-03T00:00:00Z,99.9,\n"
        b"payroll/availability,2026-11-04T00:00:00Z,12,ms\n"
    )
    report = services.readings_import_csv(actor=owner, data=data)
    assert not report.ok
    assert report.problem == "3 rows are invalid; nothing was stored."
    assert [(line.line, sorted(line.errors)) for line in report.bad_lines] == [
        (3, ["value"]),
        (4, ["metric"]),
        (5, ["unit"]),
    ]
    assert report.lines[0].errors == {} and report.lines[0].outcome == ""
    assert not Reading.objects.exists()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xff\xfe\x00m", "not UTF-8"),
        (b"when,how much\n2026-11-01,3\n", "missing: metric, time, value"),
        (b"metric,time,value\n", "no readings"),
        (
            b'metric,time,value\n"payroll/availability,2026',
            "valid CSV after line 1: unexpected end",
        ),
    ],
)
def test_csv_file_problems_are_explained(owner, metric, data, problem):
    report = services.readings_import_csv(actor=owner, data=data)
    assert not report.ok
    assert problem in report.problem
    assert not Reading.objects.exists()


def test_csv_respects_ownership(other_owner, metric):
    from portfolio.errors import Forbidden

    with pytest.raises(Forbidden):
        services.readings_import_csv(
            actor=other_owner, data=b"metric,time,value\npayroll/availability,2026-11-01,1\n"
        )
    assert not Reading.objects.exists()


# --- Series ---------------------------------------------------------------------------------


def test_bucket_width_is_nice_and_bounded():
    assert bucket_width(dt.timedelta(days=30)) == dt.timedelta(hours=3)
    assert bucket_width(dt.timedelta(days=365)) == dt.timedelta(days=2)
    assert bucket_width(dt.timedelta(hours=1)) == dt.timedelta(minutes=1)
    for days in (1, 30, 91, 365, 3650):
        span = dt.timedelta(days=days)
        assert span / bucket_width(span) <= 240 or bucket_width(span) == dt.timedelta(days=30)


def _five_minute_readings(metric, days):
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=start + dt.timedelta(minutes=5 * i), value=i % 100)
        for i in range(days * 288)
    )
    return start, end


def test_series_is_bucketed_in_one_query(metric):
    start, end = _five_minute_readings(metric, 60)
    with CaptureQueriesContext(connection) as ctx:
        width, buckets = series(metric.pk, start, end)
    assert len(ctx.captured_queries) == 1
    assert "date_bin" in ctx.captured_queries[0]["sql"]
    assert width == dt.timedelta(hours=6)
    assert 240 <= len(buckets) <= 241  # 60 days of 6-hour buckets (plus an edge)
    assert sum(b.count for b in buckets) == 60 * 288
    full = [b for b in buckets if b.count == 72]
    assert full and all(b.low <= b.avg <= b.high for b in full)


def test_sparklines_for_many_metrics_in_one_query(product):
    a, b, empty = (MetricFactory(product=product) for _ in range(3))
    now = timezone.now()
    for metric, value in ((a, 1.0), (b, 2.0)):
        Reading.objects.bulk_create(
            Reading(metric=metric, taken_at=now - dt.timedelta(days=d), value=value)
            for d in range(1, 10)
        )
    with CaptureQueriesContext(connection) as ctx:
        lines = sparklines([a.pk, b.pk, empty.pk])
    assert len(ctx.captured_queries) == 1
    assert set(lines) == {a.pk, b.pk}
    assert {v for _t, v in lines[b.pk]} == {2.0}


def test_trend_chart_draws_lines_and_breaks_at_gaps(metric):
    end = timezone.now()
    start = end - dt.timedelta(days=30)
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=start + dt.timedelta(days=d), value=99 + d / 100)
        for d in list(range(0, 10)) + list(range(20, 30))
    )
    width, buckets = series(metric.pk, start, end)
    svg = charts.trend_chart(
        buckets,
        start=start,
        end=end,
        width_step=width,
        unit="%",
        target=99.9,
        expected_interval=dt.timedelta(days=1),
        warning=99.5,
        critical=99.0,
        title="Availability <script>",
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2  # one line each side of the ten-day gap
    for label in ("target 99.9", "warning 99.5", "critical 99"):
        assert label in svg
    assert "<script>" not in svg and "Availability &lt;script&gt;" in svg
    empty = charts.trend_chart(
        [], start=start, end=end, width_step=width, unit="%", target=None, title="x"
    )
    assert "No readings in this range." in empty


def test_sparkline_empty_and_single_point():
    assert "stroke-dasharray" in charts.sparkline([])
    one = charts.sparkline([(timezone.now(), 4.0)], status="red")
    assert "#c62828" in one and "<polyline" in one


def test_trend_chart_says_when_the_range_is_empty_even_with_threshold_lines():
    end = timezone.now()
    svg = charts.trend_chart(
        [], start=end - dt.timedelta(days=30), end=end, width_step=dt.timedelta(hours=3),
        unit="%", target=99.9, warning=99.5, critical=99.0, compact=True,
    )  # fmt: skip
    assert "No readings in this range." in svg
    assert "target 99.9" in svg
