"""Readings in bulk: all or nothing, every bad row named, idempotent on (metric, time, source),
and the metric's latest reading kept right."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from metrics import services
from metrics.models import Reading
from portfolio.bulk import BulkValidationFailed
from portfolio.errors import Forbidden, ValidationFailed
from tests.metrics.factories import MetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def metric(product):
    return MetricFactory(product=product, key="availability", unit="%")


def _rows(metric, n=5, start=None, value=99.9):
    start = start or timezone.now() - dt.timedelta(days=n)
    return [
        {"metric": metric.pk, "time": (start + dt.timedelta(days=i)).isoformat(), "value": value}
        for i in range(n)
    ]


def _refused(actor, rows, **kw) -> BulkValidationFailed:
    before = Reading.objects.count()
    with pytest.raises(BulkValidationFailed) as exc:
        services.readings_ingest(actor=actor, rows=rows, **kw)
    assert Reading.objects.count() == before, "a refused batch stores nothing"
    return exc.value


def test_same_batch_twice_stores_nothing_new(owner, metric):
    rows = _rows(metric, 50)
    first = services.readings_ingest(actor=owner, rows=rows)
    assert (first.received, first.created, first.updated, first.unchanged) == (50, 50, 0, 0)
    second = services.readings_ingest(actor=owner, rows=rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 50)
    assert Reading.objects.filter(metric=metric).count() == 50


def test_a_new_value_for_a_known_reading_corrects_it(owner, metric):
    rows = _rows(metric, 3)
    services.readings_ingest(actor=owner, rows=rows)
    rows[1]["value"] = 97.0
    result = services.readings_ingest(actor=owner, rows=rows)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert sorted(Reading.objects.values_list("value", flat=True)) == [97.0, 99.9, 99.9]


def test_another_source_at_the_same_time_is_another_reading(owner, metric):
    rows = _rows(metric, 2)
    services.readings_ingest(actor=owner, rows=rows)
    result = services.readings_ingest(actor=owner, rows=[{**r, "source": "probe-eu"} for r in rows])
    assert result.created == 2
    assert set(Reading.objects.values_list("source", flat=True)) == {"api", "probe-eu"}


def test_metric_by_ref_and_time_with_or_without_offset(owner, metric):
    naive = "2026-11-01T08:30:00"
    result = services.readings_ingest(
        actor=owner,
        rows=[
            {"metric": "payroll/availability", "time": "2026-11-01T08:00:00Z", "value": "99.7"},
            {"metric": str(metric.pk), "time": naive, "value": 99},
        ],
    )
    assert result.created == 2
    stored = Reading.objects.order_by("taken_at").values_list("taken_at", "value")
    assert [v for _t, v in stored] == [99.7, 99.0]
    assert stored[1][0] == timezone.make_aware(dt.datetime(2026, 11, 1, 8, 30))


def test_latest_reading_is_kept_on_the_metric(owner, metric):
    now = timezone.now()
    services.readings_ingest(
        actor=owner,
        rows=[
            {"metric": metric.pk, "time": (now - dt.timedelta(hours=2)).isoformat(), "value": 1},
            {"metric": metric.pk, "time": (now - dt.timedelta(hours=1)).isoformat(), "value": 2},
        ],
    )
    metric.refresh_from_db()
    assert metric.last_value == 2
    # An older reading arriving late does not replace the latest.
    services.readings_ingest(
        actor=owner,
        rows=[{"metric": metric.pk, "time": (now - dt.timedelta(days=3)).isoformat(), "value": 3}],
    )
    metric.refresh_from_db()
    assert metric.last_value == 2
    assert metric.last_read_at == (now - dt.timedelta(hours=1))
    # A correction of the latest one does.
    services.readings_ingest(
        actor=owner,
        rows=[{"metric": metric.pk, "time": (now - dt.timedelta(hours=1)).isoformat(), "value": 5}],
    )
    metric.refresh_from_db()
    assert metric.last_value == 5


def test_duplicate_rows_in_one_batch(owner, metric):
    row = _rows(metric, 1)[0]
    result = services.readings_ingest(actor=owner, rows=[row, dict(row)])
    assert (result.received, result.created, result.unchanged) == (2, 1, 1)
    exc = _refused(owner, [row, {**row, "value": 1.0}])
    assert exc.errors == {
        "readings[1].time": ["Row 0 has the same metric, time and source with another value."]
    }


FUTURE = dt.timedelta(minutes=10)

BAD_ROWS = [
    ("unknown metric id", {"metric": 999999}, "metric", "No metric 999999."),
    ("unknown metric ref", {"metric": "payroll/nope"}, "metric", "No metric payroll/nope."),
    ("metric of another shape", {"metric": "payroll"}, "metric", "Give the metric's id"),
    ("value not a number", {"value": "ninety-nine"}, "value", "Not a number."),
    ("value a boolean", {"value": True}, "value", "Not a number."),
    ("value null", {"value": None}, "value", "Not a number."),
    ("value a list", {"value": [1]}, "value", "Not a number."),
    ("NaN as text", {"value": "NaN"}, "value", "NaN is not a reading"),
    ("NaN as a float", {"value": float("nan")}, "value", "NaN is not a reading"),
    ("infinity as text", {"value": "-Infinity"}, "value", "Infinity is not a reading."),
    ("number too large for a float", {"value": json.loads("1e999")}, "value", "Infinity"),
    ("integer too large for a float", {"value": 10**400}, "value", "Infinity"),
    ("time in the future", {"time": "FUTURE"}, "time", "is in the future"),
    ("time not a time", {"time": "yesterday"}, "time", "Not a time"),
    ("time missing", {"time": None}, "time", "Not a time"),
    ("wrong unit", {"unit": "ms"}, "unit", "is measured in '%', not 'ms'."),
    ("unknown field", {"colour": "red"}, "colour", "Unknown field."),
    ("source too long", {"source": "x" * 61}, "source", "no more than 60 characters"),
]


@pytest.mark.parametrize(
    ("label", "change", "field", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS]
)
def test_every_bad_row_kind_refuses_the_batch_naming_the_row(
    owner, metric, label, change, field, message
):
    rows = _rows(metric, 4)
    if change.get("time") == "FUTURE":
        change = {"time": (timezone.now() + FUTURE).isoformat()}
    rows[2] = {**rows[2], **change}
    exc = _refused(owner, rows)
    assert [r.index for r in exc.rows] == [2]
    key = f"readings[2].{field}"
    assert list(exc.errors) == [key]
    assert message in exc.errors[key][0]
    assert exc.message == "1 row is invalid; nothing was stored."


def test_a_reading_a_few_minutes_ahead_is_accepted(owner, metric):
    ahead = (timezone.now() + dt.timedelta(minutes=4)).isoformat()
    result = services.readings_ingest(
        actor=owner, rows=[{"metric": metric.pk, "time": ahead, "value": 99.9}]
    )
    assert result.created == 1


def test_all_bad_rows_are_named_at_once(owner, metric):
    rows = _rows(metric, 6)
    rows[0]["value"] = "x"
    rows[3]["metric"] = 424242
    rows[3]["value"] = "NaN"
    rows[5] = "not an object"
    exc = _refused(owner, rows)
    assert [r.index for r in exc.rows] == [0, 3, 5]
    assert exc.errors["readings[3].metric"] == ["No metric 424242."]
    assert exc.errors["readings[3].value"][0].startswith("NaN")
    assert exc.errors["readings[5].non_field_errors"] == ["Expected an object, got str."]
    assert exc.as_dict()["rows"][1] == {
        "index": 3,
        "errors": {
            "value": ["NaN is not a reading; leave the reading out instead."],
            "metric": ["No metric 424242."],
        },
        "rule": "unknown_metric",
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"metric": 1}, "Expected a list of readings."),
        ([], "Send at least one reading."),
        ([{}] * 10_001, "At most 10,000 readings per call; this one has 10,001."),
    ],
)
def test_batch_shape(owner, rows, message):
    with pytest.raises(ValidationFailed) as exc:
        services.readings_ingest(actor=owner, rows=rows)
    assert exc.value.errors == {"readings": [message]}


def test_ten_thousand_readings_in_one_call(owner, metric):
    start = timezone.now() - dt.timedelta(days=40)
    rows = [
        {"metric": metric.pk, "time": (start + dt.timedelta(minutes=5 * i)).isoformat(), "value": i}
        for i in range(10_000)
    ]
    result = services.readings_ingest(actor=owner, rows=rows)
    assert result.created == 10_000
    metric.refresh_from_db()
    assert metric.last_value == 9_999


def test_readings_of_a_metric_you_do_not_own_refuse_the_batch(owner, other_owner, metric, leader):
    from tests.metrics.factories import MetricFactory as MF
    from tests.products.factories import ProductFactory

    theirs = MF(product=ProductFactory(slug="intranet", owner=other_owner.person), key="uptime")
    rows = _rows(metric, 2) + [{**_rows(theirs, 1)[0]}]
    with pytest.raises(Forbidden) as exc:
        services.readings_ingest(actor=owner, rows=rows)
    assert "intranet/uptime" in exc.value.message
    assert "payroll/availability" not in exc.value.message
    assert not Reading.objects.exists()
    assert services.readings_ingest(actor=leader, rows=rows).created == 3


def test_one_reading_typed_in_reports_plain_field_errors(owner, viewer, metric):
    with pytest.raises(ValidationFailed) as exc:
        services.reading_record(actor=owner, metric=metric, time="2026-11-01T10:00Z", value="abc")
    assert exc.value.errors == {"value": ["Not a number."]}
    with pytest.raises(Forbidden):
        services.reading_record(actor=viewer, metric=metric, time="2026-11-01T10:00Z", value=1)
    result = services.reading_record(
        actor=owner, metric=metric, time="2026-11-01T10:00Z", value="99.1"
    )
    assert result.created == 1
    assert Reading.objects.get().source == "manual"


def test_deleting_the_latest_reading_moves_the_metric_back(owner, viewer, metric):
    rows = _rows(metric, 2)
    rows[0]["value"], rows[1]["value"] = 1.0, 2.0
    services.readings_ingest(actor=owner, rows=rows)
    latest = Reading.objects.order_by("-taken_at").first()
    with pytest.raises(Forbidden):
        services.reading_delete(actor=viewer, reading=latest)
    services.reading_delete(actor=owner, reading=latest)
    metric.refresh_from_db()
    assert metric.last_value == 1.0
    services.reading_delete(actor=owner, reading=Reading.objects.get())
    metric.refresh_from_db()
    assert (metric.last_value, metric.last_read_at) == (None, None)


@pytest.mark.parametrize(
    "ref", ["³", "1²", "payroll/avail\x00ability", "pay roll/availability", -3]
)
def test_metric_references_that_cannot_name_a_metric_are_row_errors(owner, metric, ref):
    rows = [{"metric": ref, "time": timezone.now().isoformat(), "value": 1}]
    exc = _refused(owner, rows)
    assert list(exc.errors) == ["readings[0].metric"]
