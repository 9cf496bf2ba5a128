"""GET /api/v1/events/: paging by cursor, filters, bad input named, who sees what, and a
query count that does not grow with the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from portfolio.api.events import EVENT
from portfolio.api.rows import iso_datetime
from portfolio.events import record
from portfolio.models import Event
from portfolio.permissions import is_leader
from portfolio.services import portfolio_settings_update
from products.services import product_update
from tests.conftest import api_as
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"


def place() -> None:
    """Give the events recorded so far their positions, as a commit does (the test's own
    transaction never commits: the deferred trigger is made to run now)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def read(user, query: str = "") -> dict:
    response = api_as(user).get(FEED + query)
    assert response.status_code == 200, response.json()
    return response.json()


def errors(user, query: str) -> dict:
    response = api_as(user).get(FEED + query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    return body["errors"]


@pytest.fixture
def five_changes(leader, product):
    for n in range(5):
        product_update(actor=leader, product=product, description=f"Version {n}")
    place()
    return list(Event.objects.order_by("position"))


def test_pages_follow_the_cursor_to_an_empty_page_that_still_has_one(viewer, five_changes):
    first = read(viewer, "?page_size=2")
    assert [e["changed"]["description"][1] for e in first["results"]] == [
        "Version 0",
        "Version 1",
    ]
    assert first["cursor"] == first["results"][-1]["position"]
    assert f"after={first['cursor']}" in first["next"]

    second = read(viewer, f"?page_size=2&after={first['cursor']}")
    third = read(viewer, f"?page_size=2&after={second['cursor']}")
    assert [e["id"] for e in second["results"] + third["results"]] == [
        e.pk for e in five_changes[2:]
    ]

    empty = read(viewer, f"?page_size=2&after={third['cursor']}")
    assert empty["results"] == []
    assert empty["cursor"] == third["cursor"]
    assert f"after={third['cursor']}" in empty["next"]


def test_an_event_carries_what_happened_who_did_it_and_the_body(leader, viewer, product):
    product_update(actor=leader, product=product, description="Pays everyone.")
    place()

    (event,) = read(viewer)["results"]

    assert event["type"] == "product.updated"
    assert (event["object_type"], event["object_id"]) == ("product", product.pk)
    assert event["actor"] == {"id": leader.pk, "name": "leader"}
    assert event["job"] == ""
    assert event["changed"] == {"description": [product.description, "Pays everyone."]}
    assert event["data"] == api_as(viewer).get(f"/api/v1/products/{product.pk}/").json()
    assert event["at"] == iso_datetime(Event.objects.get(pk=event["id"]).at)


def test_events_not_yet_committed_are_not_shown(viewer, leader, product):
    product_update(actor=leader, product=product, description="Still in flight.")

    assert read(viewer)["results"] == []


def test_filters_by_type_object_and_time(leader, viewer, product):
    other = ProductFactory()
    product_update(actor=leader, product=product, description="One")
    product_update(actor=leader, product=other, description="Two")
    record("product.transitioned", product, actor=leader, changed={"lifecycle_stage": ["a", "b"]})
    place()

    def types(query: str) -> list[tuple[str, int]]:
        return [(e["type"], e["object_id"]) for e in read(viewer, query)["results"]]

    assert types("?type=product.transitioned") == [("product.transitioned", product.pk)]
    both = [
        ("product.updated", product.pk),
        ("product.updated", other.pk),
        ("product.transitioned", product.pk),
    ]
    assert types("?type=product.updated,product.transitioned") == both
    assert types("?type=product.updated&type=product.transitioned") == both
    assert types(f"?object_type=product&object_id={other.pk}") == [("product.updated", other.pk)]
    assert types("?object_type=person") == []
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert types(f"?since={future}") == []
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert len(types(f"?since={past}")) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?type=product.renamed", "type"),
        ("?type=product.updated,nope", "type"),
        ("?object_type=planet", "object_type"),
        ("?object_id=3", "object_id"),
        ("?object_type=product&object_id=x", "object_id"),
        ("?after=-1", "after"),
        ("?after=abc", "after"),
        ("?after=99999999999999999999", "after"),
        ("?page_size=0", "page_size"),
        ("?page_size=1001", "page_size"),
        ("?since=yesterday", "since"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(viewer, query, field):
    assert field in errors(viewer, query)


def test_settings_events_are_for_leaders_only(leader, owner, viewer, product):
    portfolio_settings_update(actor=leader, max_stable_units=4)
    product_update(actor=leader, product=product, description="Everyone sees this")
    place()

    assert [e["type"] for e in read(leader)["results"]] == [
        "settings.updated",
        "product.updated",
    ]
    for user in (owner, viewer):
        assert [e["type"] for e in read(user)["results"]] == ["product.updated"]
        assert read(user, "?type=settings.updated")["results"] == []


def test_anonymous_is_401(api):
    assert api.get(FEED).status_code == 401


def test_a_page_costs_the_same_queries_at_any_size(leader, product, django_assert_num_queries):
    for n in range(120):
        record("product.updated", product, actor=leader, changed={"n": [n, n + 1]}, data={})
    place()
    client = api_as(leader)
    is_leader(leader)  # the role is cached on the user, as for any request after the first

    # One query: the page itself (no COUNT, no query per event).
    with django_assert_num_queries(1):
        small = client.get(FEED + "?page_size=2")
    with django_assert_num_queries(1):
        large = client.get(FEED + "?page_size=100")
    assert (len(small.json()["results"]), len(large.json()["results"])) == (2, 100)


def test_the_api_guide_lists_every_event_type():
    from pathlib import Path

    from portfolio.events import EVENT_TYPES

    guide = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    assert [name for name in EVENT_TYPES if f"| `{name}` |" not in guide] == []


def test_the_written_json_is_what_the_schema_output_makes_of_the_same_rows(leader, viewer, product):
    """The feed writes its JSON by hand (portfolio/api/events.py, `event_json`); the schema is
    `EVENT`. Same rows, same answer: a person's change with non-ASCII text, a job's change
    (no actor), an event without a body, in a time zone that is not UTC."""
    product_update(actor=leader, product=product, description='Zoë\'s "pay" — ☕\n')
    record("product.updated", product, actor=None, job="nightly import", changed=["description"])
    Event.objects.create(type="product.updated", object_type="product", object_id=123, data=None)
    place()

    with timezone.override("Europe/Helsinki"):
        answered = read(viewer)["results"]
        rows = Event.objects.order_by("position").values(*EVENT.columns)
        expected = EVENT.many(rows, tz=timezone.get_current_timezone())

    assert len(answered) == 3
    assert answered == expected
    assert answered[1]["actor"] is None and answered[2]["data"] is None
    assert answered[0]["at"].endswith("+02:00")


def test_after_latest_starts_from_the_last_committed_event(leader, viewer, product, five_changes):
    start = read(viewer, "?after=latest")
    assert start["results"] == []
    assert start["cursor"] == five_changes[-1].position
    assert f"after={start['cursor']}" in start["next"]

    product_update(actor=leader, product=product, description="After the start")
    place()
    (event,) = read(viewer, f"?after={start['cursor']}")["results"]
    assert event["changed"]["description"][1] == "After the start"


def test_after_latest_on_an_empty_feed_is_zero(viewer):
    assert read(viewer, "?after=latest")["cursor"] == 0
    assert "after" in errors(viewer, "?after=earliest")
