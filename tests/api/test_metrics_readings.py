"""/api/v1/metric-readings/: the list with its range filters, and the bulk ingest endpoint
(all or nothing, idempotent, every bad row named)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from metrics.models import Reading
from metrics.services import MAX_READINGS
from tests.api.conftest import client_for
from tests.metrics.factories import MetricFactory, ReadingFactory
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api-metric-reading-list")
BULK = reverse("api-metric-reading-bulk")
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.fixture
def availability(product):
    return MetricFactory(product=product, key="availability", unit="%")


@pytest.fixture
def tickets(product):
    return MetricFactory(
        product=product, key="tickets", unit="tickets/week", better="lower", target=20,
        warning=40, critical=60,
    )  # fmt: skip


def batch(
    metric, n: int, start: dt.datetime = T0, value: float = 99.9, step=dt.timedelta(hours=1)
) -> list[dict]:
    return [{"metric": metric.pk, "time": iso(start + i * step), "value": value} for i in range(n)]


def reading_json(metric_id: int, value_literal: str) -> str:
    """A one-reading body with the value written as raw JSON text."""
    row = f'{{"metric": {metric_id}, "time": "2026-01-05T08:00:00Z", "value": {value_literal}}}'
    return f'{{"readings": [{row}]}}'


def post(client, rows) -> tuple[int, dict]:
    response = client.post(BULK, {"readings": rows}, format="json")
    return response.status_code, response.json()


# --- bulk: happy path, idempotency, corrections ------------------------------------------------


def test_bulk_stores_readings_by_id_and_by_ref(as_owner, availability, tickets):
    rows = [
        {"metric": availability.pk, "time": "2026-01-05T08:00:00Z", "value": 99.95},
        {"metric": "payroll/availability", "time": "2026-01-05T09:00:00Z", "value": "99.2"},
        {
            "metric": "payroll/tickets",
            "time": "2026-01-05T09:00:00+01:00",
            "value": 31,
            "source": "servicedesk",
            "unit": "Tickets/Week",
        },
    ]
    code, body = post(as_owner, rows)

    assert code == 200, body
    assert body == {"received": 3, "created": 3, "updated": 0, "unchanged": 0, "metrics": 2}
    stored = list(
        Reading.objects.order_by("metric_id", "taken_at").values_list(
            "metric__key", "taken_at", "value", "source"
        )
    )
    assert stored == [
        ("availability", T0, 99.95, "api"),
        ("availability", T0 + dt.timedelta(hours=1), 99.2, "api"),
        ("tickets", T0, 31.0, "servicedesk"),
    ]
    availability.refresh_from_db()
    assert availability.last_value == 99.2
    assert availability.last_read_at == T0 + dt.timedelta(hours=1)


def test_same_batch_twice_stores_nothing_new(as_owner, availability):
    rows = batch(availability, 50)
    assert post(as_owner, rows) == (
        200,
        {"received": 50, "created": 50, "updated": 0, "unchanged": 0, "metrics": 1},
    )
    before = list(Reading.objects.order_by("pk").values_list("pk", "value", "updated_at"))

    code, body = post(as_owner, rows)

    assert code == 200
    assert body == {"received": 50, "created": 0, "updated": 0, "unchanged": 50, "metrics": 1}
    assert list(Reading.objects.order_by("pk").values_list("pk", "value", "updated_at")) == before


def test_a_new_value_for_a_known_reading_is_a_correction(as_owner, availability):
    post(as_owner, batch(availability, 3))
    rows = batch(availability, 3)
    rows[1]["value"] = 97.5

    code, body = post(as_owner, rows)

    assert code == 200
    assert body == {"received": 3, "created": 0, "updated": 1, "unchanged": 2, "metrics": 1}
    assert Reading.objects.count() == 3
    assert Reading.objects.get(taken_at=T0 + dt.timedelta(hours=1)).value == 97.5


def test_leader_may_record_for_any_product(leader, availability):
    code, body = post(client_for(leader), batch(availability, 2))
    assert code == 200 and body["created"] == 2


# --- bulk: refusals ----------------------------------------------------------------------------


def _future() -> str:
    return iso(timezone.now() + dt.timedelta(hours=2))


BAD_ROWS = [
    pytest.param({"metric": "payroll/nope"}, "metric", "unknown_metric", id="unknown-ref"),
    pytest.param({"metric": 987654}, "metric", "unknown_metric", id="unknown-id"),
    pytest.param({"metric": "no-slash"}, "metric", None, id="malformed-ref"),
    pytest.param({"value": "ninety"}, "value", None, id="not-a-number"),
    pytest.param({"value": None}, "value", None, id="null"),
    pytest.param({"value": True}, "value", None, id="boolean"),
    pytest.param({"value": "NaN"}, "value", None, id="nan-string"),
    pytest.param({"value": "Infinity"}, "value", None, id="infinity-string"),
    pytest.param({"value": "-inf"}, "value", None, id="minus-inf-string"),
    pytest.param({"time": "yesterday"}, "time", None, id="not-a-time"),
    pytest.param({"time": None}, "time", None, id="null-time"),
    pytest.param({"time": "FUTURE"}, "time", "reading_in_future", id="future"),
    pytest.param({"unit": "ms"}, "unit", "wrong_unit", id="wrong-unit"),
    pytest.param({"colour": "red"}, "colour", None, id="unknown-field"),
    pytest.param({"source": 5}, "source", None, id="source-not-text"),
    pytest.param({"source": "x" * 61}, "source", None, id="source-too-long"),
]


@pytest.mark.parametrize("change, field, rule", BAD_ROWS)
def test_a_bad_row_refuses_the_whole_batch_naming_it(as_owner, availability, change, field, rule):
    # given a batch whose third row is bad
    rows = batch(availability, 5)
    if change.get("time") == "FUTURE":
        change = {"time": _future()}
    rows[2].update(change)

    code, body = post(as_owner, rows)

    # then it answers 400 naming the row and the field, and nothing is stored
    assert code == 400, body
    assert body["code"] == "invalid"
    assert body["detail"] == "1 row is invalid; nothing was stored."
    assert list(body["errors"]) == [f"readings[2].{field}"]
    assert [r["index"] for r in body["rows"]] == [2]
    assert list(body["rows"][0]["errors"]) == [field]
    if rule:
        assert body["rows"][0]["rule"] == rule
    assert not Reading.objects.exists()
    availability.refresh_from_db()
    assert availability.last_read_at is None


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1" + "0" * 400])
def test_numbers_beyond_float_are_refused(as_owner, availability, literal):
    # JSON can carry 1e999: Python reads it as infinity; a 400-digit integer overflows float
    raw = reading_json(availability.pk, literal)
    response = as_owner.post(BULK, raw, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["readings[0].value"]
    assert not Reading.objects.exists()


def test_json_nan_literal_is_a_parse_error(as_owner, availability):
    raw = reading_json(availability.pk, "NaN")
    response = as_owner.post(BULK, raw, content_type="application/json")
    assert response.status_code == 400
    assert "NaN" in response.json()["detail"]
    assert not Reading.objects.exists()


def test_every_bad_row_is_named(as_owner, availability):
    rows = batch(availability, 6)
    rows[1]["value"] = "NaN"
    rows[4]["metric"] = "payroll/unknown"
    rows[5]["unit"] = "ms"

    code, body = post(as_owner, rows)

    assert code == 400
    assert body["detail"] == "3 rows are invalid; nothing was stored."
    assert sorted(body["errors"]) == [
        "readings[1].value",
        "readings[4].metric",
        "readings[5].unit",
    ]
    assert [r["index"] for r in body["rows"]] == [1, 4, 5]
    assert not Reading.objects.exists()


def test_two_values_for_one_key_in_a_batch_are_refused(as_owner, availability):
    rows = batch(availability, 2)
    rows[1]["time"] = rows[0]["time"]
    rows[1]["value"] = 12
    code, body = post(as_owner, rows)
    assert code == 400
    assert body["rows"] == [
        {"index": 1, "errors": body["rows"][0]["errors"], "rule": "duplicate_reading"}
    ]
    assert not Reading.objects.exists()


def test_more_than_the_maximum_is_refused(as_owner, availability):
    rows = batch(availability, 1) * (MAX_READINGS + 1)
    code, body = post(as_owner, rows)
    assert code == 400
    assert list(body["errors"]) == ["readings"]
    assert "10,000" in body["errors"]["readings"][0]
    assert not Reading.objects.exists()


def test_the_maximum_is_accepted(as_owner, availability):
    code, body = post(as_owner, batch(availability, MAX_READINGS, step=dt.timedelta(minutes=1)))
    assert code == 200, body
    assert body["created"] == MAX_READINGS
    assert Reading.objects.count() == MAX_READINGS


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "readings"),
        ({"readings": "all of them"}, "readings"),
        ({"readings": {"metric": 1}}, "readings"),
        ({"readings": []}, "readings"),
        ([{"metric": 1}], "non_field_errors"),
    ],
)
def test_missing_or_malformed_readings_name_the_field(as_owner, payload, field):
    response = as_owner.post(BULK, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_bad_json_is_400(as_owner):
    response = as_owner.post(BULK, '{"readings": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_another_owners_metric_is_forbidden_and_nothing_stored(
    other_owner, availability, other_product
):
    theirs = MetricFactory(product=other_product, key="uptime")
    rows = batch(theirs, 2) + batch(availability, 2)
    code, body = post(client_for(other_owner), rows)
    assert code == 403
    assert body["rule"] == "unit_owner_or_leader"
    assert "payroll/availability" in body["detail"]
    assert "intranet/uptime" not in body["detail"]
    assert not Reading.objects.exists()


def test_viewer_and_anonymous_are_refused(viewer, api, availability):
    assert post(client_for(viewer), batch(availability, 1))[0] == 403
    assert api.post(BULK, {"readings": batch(availability, 1)}, format="json").status_code == 401
    assert not Reading.objects.exists()


@pytest.mark.parametrize("size", [10, 300])
def test_bulk_query_count_is_flat(size, owner, product, django_assert_num_queries):
    metrics = [MetricFactory(product=product, key=f"m{i}") for i in range(3)]
    rows = [r for m in metrics for r in batch(m, size // 3)]
    client = client_for(owner)
    client.get(LIST)  # warm up: session, content types, the leader check

    # 8 for the ingest, plus 3 for its events: the touched metrics' bodies before and after
    # (for their status) and one INSERT of one event per metric, whatever the batch's size.
    with django_assert_num_queries(11):
        code, body = post(client, rows)
    assert code == 200 and body["created"] == len(rows)


# --- list --------------------------------------------------------------------------------------


@pytest.fixture
def week(availability, tickets):
    """Seven daily readings of each metric from T0, two sources for tickets on day 0."""
    for day in range(7):
        ReadingFactory(metric=availability, taken_at=T0 + dt.timedelta(days=day), value=99 + day)
        ReadingFactory(metric=tickets, taken_at=T0 + dt.timedelta(days=day), value=day)
    ReadingFactory(metric=tickets, taken_at=T0, value=5, source="manual")


def times(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.json()
    return [(r["metric_ref"], r["time"], r["source"]) for r in response.json()["results"]]


def test_list_is_ordered_by_metric_then_time_with_the_body(as_viewer, week, availability, tickets):
    response = as_viewer.get(LIST)
    body = response.json()
    assert set(body) == {"next", "results"} and body["next"] is None
    rows = body["results"]
    assert len(rows) == 15
    assert availability.pk < tickets.pk
    assert [r["metric_ref"] for r in rows] == ["payroll/availability"] * 7 + ["payroll/tickets"] * 8
    assert [r["time"] for r in rows[:7]] == sorted(r["time"] for r in rows[:7])
    first = rows[0]
    assert set(first) == {
        "id", "metric", "metric_ref", "time", "value", "source", "created_at", "updated_at",
    }  # fmt: skip
    assert first["metric"] == availability.pk
    assert first["time"] == "2026-01-05T08:00:00Z"
    assert first["value"] == 99.0
    assert [r["source"] for r in rows[7:9]] == ["manual", "test"]


def test_range_filters(as_viewer, week, availability):
    day = dt.timedelta(days=1)
    got = times(
        as_viewer.get(
            LIST, {"metric": availability.pk, "from": iso(T0 + day), "to": iso(T0 + 3 * day)}
        )
    )
    # from is inclusive, to exclusive
    assert [t for _, t, _ in got] == [iso(T0 + day), iso(T0 + 2 * day)]

    # an offset is understood: 10:00+02:00 is 08:00Z
    got = times(as_viewer.get(LIST, {"metric": availability.pk, "from": "2026-01-11T10:00+02:00"}))
    assert [t for _, t, _ in got] == [iso(T0 + 6 * day)]

    got = times(as_viewer.get(LIST, {"product": "payroll", "source": "manual"}))
    assert got == [("payroll/tickets", iso(T0), "manual")]
    assert times(as_viewer.get(LIST, {"product": "intranet"})) == []
    assert times(as_viewer.get(LIST, {"updated_since": "2999-01-01T00:00Z"})) == []
    assert len(times(as_viewer.get(LIST, {"updated_since": "2000-01-01T00:00Z"}))) == 15


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "last tuesday"}, "from"),
        ({"to": "2026-13-01T00:00Z"}, "to"),
        ({"from": "2026-01-05T00:00Z", "to": "2026-01-04T00:00Z"}, "to"),
        ({"metric": "availability"}, "metric"),
        ({"metric": "9" * 30}, "metric"),
        ({"updated_since": "soon"}, "updated_since"),
    ],
)
def test_bad_filters_answer_400_naming_them(as_viewer, params, field):
    response = as_viewer.get(LIST, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("size", [4, 40])
def test_list_query_count_is_flat(size, viewer, django_assert_num_queries):
    for i in range(size):
        metric = MetricFactory(product=ProductFactory(owner=PersonFactory()))
        ReadingFactory(metric=metric, taken_at=T0 + dt.timedelta(hours=i))
        ReadingFactory(metric=metric, taken_at=T0 + dt.timedelta(hours=i + 1))
    client = client_for(viewer)
    client.get(LIST)

    # One: the page's rows (no COUNT, no visibility subquery for a login that sees all).
    with django_assert_num_queries(1):
        response = client.get(LIST, {"page_size": 1000, "from": iso(T0)})
    assert len(response.json()["results"]) == 2 * size


def test_reading_body_is_json_serialisable_round_trip(as_owner, availability):
    """What the list gives back can be posted again unchanged (time and value round-trip)."""
    post(as_owner, batch(availability, 3))
    rows = as_owner.get(LIST).json()["results"]
    again = [{"metric": r["metric_ref"], "time": r["time"], "value": r["value"]} for r in rows]
    code, body = post(as_owner, json.loads(json.dumps(again)))
    assert code == 200
    assert body["unchanged"] == 3


# --- keyset paging -----------------------------------------------------------------------------


def test_keyset_paging_walks_every_row_once_in_order_and_never_counts(
    as_viewer, week, availability, tickets
):
    expected = list(
        Reading.objects.order_by("metric_id", "taken_at", "source").values_list("id", flat=True)
    )
    seen, pages = [], 0
    url, params = LIST, {"page_size": 4}
    with CaptureQueriesContext(connection) as ctx:
        while url:
            response = as_viewer.get(url, params)
            assert response.status_code == 200, response.json()
            body = response.json()
            assert "count" not in body
            seen += [r["id"] for r in body["results"]]
            url, params, pages = body["next"], None, pages + 1
    assert seen == expected and len(seen) == 15
    assert pages == 4  # 4 + 4 + 4 + 3: the last page says there is no next
    assert not [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    # and no visibility subquery: a login sees every metric, so it would keep every row
    assert not [q["sql"] for q in ctx.captured_queries if "IN (SELECT" in q["sql"].upper()]


def test_a_cursor_keeps_the_filters_and_continues_after_its_row(as_viewer, week, tickets):
    first = as_viewer.get(LIST, {"metric": tickets.pk, "page_size": 2}).json()
    assert [r["source"] for r in first["results"]] == ["manual", "test"]  # same time, by source
    assert f"metric={tickets.pk}" in first["next"] and "after=" in first["next"]
    rest = as_viewer.get(first["next"]).json()
    assert [r["time"] for r in rest["results"]] == [iso(T0 + dt.timedelta(days=1)),
                                                    iso(T0 + dt.timedelta(days=2))]  # fmt: skip


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        _cursor({"metric": 1}),
        _cursor([1, "2026-01-05T08:00:00+00:00"]),
        _cursor([1, "yesterday", "api"]),
        _cursor([1, "2026-01-05T08:00:00", "api"]),  # no offset
        _cursor(["1", "2026-01-05T08:00:00+00:00", "api"]),
        _cursor([10**30, "2026-01-05T08:00:00+00:00", "api"]),
        _cursor([1, "2026-01-05T08:00:00+00:00", "x" * 61]),
    ],
)
def test_a_bad_cursor_is_400_naming_after(as_viewer, week, cursor):
    response = as_viewer.get(LIST, {"after": cursor})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["after"]


@pytest.mark.parametrize(
    "params, field",
    [({"page": "2"}, "page"), ({"page_size": "0"}, "page_size"), ({"page_size": "x"}, "page_size"),
     ({"page_size": "1001"}, "page_size")],
)  # fmt: skip
def test_page_numbers_and_bad_sizes_are_400_naming_them(as_viewer, week, params, field):
    response = as_viewer.get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [field]
    if field == "page":
        assert "after" in body["errors"]["page"][0]


@pytest.mark.parametrize("size", [5, 50])
def test_a_page_after_a_cursor_costs_one_query_at_any_size(
    size, viewer, availability, django_assert_num_queries
):
    Reading.objects.bulk_create(
        Reading(metric=availability, taken_at=T0 + dt.timedelta(hours=i), value=i)
        for i in range(size * 10)
    )
    client = client_for(viewer)
    cursor = client.get(LIST, {"page_size": size}).json()["next"]
    with django_assert_num_queries(1) as ctx:
        page = client.get(cursor).json()
    assert [r["value"] for r in page["results"]] == [float(i) for i in range(size, 2 * size)]
    # the joined metrics start at the cursor's, so a page deep in the list reads no metric
    # before it (without this the planner may merge join from the first metric)
    assert f'"metrics_metric"."id" >= {availability.pk}' in ctx.captured_queries[0]["sql"]
