"""Events past EVENT_RETENTION_DAYS are deleted by a daily job; a feed cursor older than what
is left is told so (410) instead of silently missing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portfolio.events import prune, pruned_through
from portfolio.models import Event, EventPruning
from portfolio.tasks import prune_events
from products.services import product_update
from tests.conftest import api_as
from tests.events.test_feed import FEED, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(leader, product):
    """Six changes: the first four made 100 days ago, the last two today."""
    for n in range(6):
        product_update(actor=leader, product=product, description=f"Version {n}")
    place()
    events = list(Event.objects.order_by("position"))
    old = timezone.now() - dt.timedelta(days=100)
    Event.objects.filter(pk__in=[e.pk for e in events[:4]]).update(at=old)
    return events


def test_pruning_deletes_only_events_past_retention_and_notes_how_far(settings, aged):
    settings.EVENT_RETENTION_DAYS = 90

    assert prune() == 4

    assert list(Event.objects.order_by("position")) == aged[4:]
    assert pruned_through() == aged[3].position
    assert prune() == 0  # again: nothing more to do, nothing noted
    assert EventPruning.objects.count() == 1


def test_pruning_goes_in_batches(settings, aged, monkeypatch):
    settings.EVENT_RETENTION_DAYS = 90
    monkeypatch.setattr("portfolio.events.PRUNE_BATCH", 3)

    assert prune_events() == 4

    assert [p.deleted for p in EventPruning.objects.order_by("pruned_through")] == [3, 1]
    assert pruned_through() == aged[3].position


def test_retention_zero_keeps_everything(settings, aged):
    settings.EVENT_RETENTION_DAYS = 0
    assert prune() == 0
    assert Event.objects.count() == 6 and pruned_through() == 0


def test_a_cursor_older_than_what_is_left_is_410_naming_the_rule(settings, viewer, aged):
    settings.EVENT_RETENTION_DAYS = 90
    prune()

    response = api_as(viewer).get(f"{FEED}?after={aged[1].position}")
    assert response.status_code == 410
    body = response.json()
    assert body["code"] == "gone" and body["rule"] == "events_retention"
    assert body["errors"]["after"] == [body["detail"]]
    assert f"through position {aged[3].position}" in body["detail"]

    # From the start (0), right at the horizon, and after it: the feed answers.
    for after in (0, aged[3].position, aged[4].position):
        assert api_as(viewer).get(f"{FEED}?after={after}").status_code == 200
    kept = api_as(viewer).get(f"{FEED}?after={aged[3].position}").json()["results"]
    assert [e["id"] for e in kept] == [e.pk for e in aged[4:]]


def test_keeping_up_costs_no_extra_query(viewer, aged, django_assert_num_queries):
    client = api_as(viewer)
    client.get(f"{FEED}?after=0")  # the leader check, cached on the login from then on
    with django_assert_num_queries(1):  # the page
        client.get(f"{FEED}?after={aged[0].position}")
    with django_assert_num_queries(2):  # an empty page: is the cursor past the horizon?
        client.get(f"{FEED}?after={aged[-1].position}")
