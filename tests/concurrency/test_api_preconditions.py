"""Optimistic concurrency on every mutable API resource, generated from the router.

For each resource: a read, a write based on it, then a second write based on the same read.
The second must answer 412 with `current` (as stored) and `yours` (what was sent), and leave
the stored row as the first write left it; with If-Match and with `version` in the body alike.
A write without either still goes through. A viewset that accepts PUT, PATCH or DELETE but has
no entry in RESOURCES fails `test_every_mutable_resource_is_covered`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from funding import services as funding_services
from funding.models import FundingAllocation
from portfolio.api.views import PortfolioSettingsView, Preconditions
from products.models import ExternalId, Product
from reviews.models import ActionItem, Decision, Review, ReviewCycle
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.permissions.spec import World
from web.api_urls import router
from webhooks.models import Endpoint

MONDAY = dt.date(2030, 1, 7)


def _review(w: World) -> Review:
    cycle = ReviewCycle.objects.create(
        year=2030, quarter=1, starts_on=MONDAY, ends_on=MONDAY + dt.timedelta(days=4)
    )
    return Review.objects.create(
        cycle=cycle, unit=w.product.unit, owner=w.owner_person, scheduled_on=MONDAY
    )


@dataclass
class Resource:
    """How to reach one object of a resource and two different edits of it."""

    make: Callable[[World], Any]  # the object's pk (None for a single-object endpoint)
    first: dict = field(default_factory=dict)  # the edit that lands
    second: dict = field(default_factory=dict)  # the edit made on the same, now stale, read
    field: str = ""  # a body field the edits change
    method: str = "patch"
    deletes: bool = False


RESOURCES: dict[str, Resource] = {
    "api-product": Resource(
        lambda w: w.product.pk, {"description": "First"}, {"description": "Second"}, "description"
    ),
    "api-cluster": Resource(
        lambda w: w.cluster.pk,
        {"description": "First"},
        {"description": "Second"},
        "description",
        deletes=True,
    ),
    "api-person": Resource(
        lambda w: w.owner_person.pk, {"title": "First"}, {"title": "Second"}, "title"
    ),
    "api-team": Resource(
        lambda w: w.team.pk, {"description": "First"}, {"description": "Second"}, "description"
    ),
    "api-backlog-item": Resource(
        lambda w: BacklogItemFactory(product=w.product, title="Faster payslips").pk,
        {"title": "First"},
        {"title": "Second"},
        "title",
        deletes=True,
    ),
    "api-metric": Resource(
        lambda w: MetricFactory(product=w.product, key="availability").pk,
        {"name": "First"},
        {"name": "Second"},
        "name",
        deletes=True,
    ),
    "api-funding-allocation": Resource(
        lambda w: (
            FundingAllocation.objects.create(
                unit=w.product.unit, fiscal_year=2030, operations_amount=10, improvement_amount=1000
            ).pk
        ),
        {"note": "First"},
        {"note": "Second"},
        "note",
    ),
    "api-review": Resource(
        lambda w: _review(w).pk,
        {"scheduled_on": "2030-01-08"},
        {"scheduled_on": "2030-01-09"},
        "scheduled_on",
    ),
    "api-action-item": Resource(
        lambda w: ActionItem.objects.create(review=_review(w), title="Write the runbook").pk,
        {"done": True},
        {"done": False},
        "done",
        deletes=True,
    ),
    # Decisions are recorded and removed, never edited: only DELETE is conditional.
    "api-decision": Resource(
        lambda w: Decision.objects.create(review=_review(w), kind="invest", rationale="Grow.").pk,
        deletes=True,
    ),
    "api-webhook": Resource(
        lambda w: (
            Endpoint.objects.create(
                url="http://127.0.0.1:9/hook", event_types=["all"], secret="whsec_0123456789abcdef"
            ).pk
        ),
        {"description": "First"},
        {"description": "Second"},
        "description",
        deletes=True,
    ),
    "api-settings": Resource(
        lambda w: None, {"max_stable_units": 4}, {"max_stable_units": 5}, "max_stable_units"
    ),
}


# Writable resources without versions, each with the reason it needs none.
UNVERSIONED = {
    # Made and revoked, never edited: a revoke is final whatever the client last read.
    "api-token": "API tokens",
}


def _mutable_routes() -> dict[str, type]:
    """Every API viewset that accepts PUT, PATCH or DELETE on one object, by basename."""
    found: dict[str, type] = {"api-settings": PortfolioSettingsView}
    for _prefix, viewset, basename in router.registry:
        allowed = getattr(viewset, "http_method_names", [])
        writes = {"put": "update", "patch": "partial_update", "delete": "destroy"}
        if any(m in allowed and hasattr(viewset, action) for m, action in writes.items()):
            found[basename] = viewset
    return found


def test_every_mutable_resource_is_covered():
    routes = {k: v for k, v in _mutable_routes().items() if k not in UNVERSIONED}
    assert set(routes) == set(RESOURCES), "a writable resource without a concurrency case"
    for basename, view in routes.items():
        assert issubclass(view, Preconditions), f"{basename} does not check preconditions"


def _url(basename: str, pk) -> str:
    return reverse(basename) if pk is None else reverse(f"{basename}-detail", args=[pk])


def _client(w: World) -> APIClient:
    client = APIClient()
    client.force_authenticate(w.leader)
    return client


def _read(client: APIClient, url: str) -> tuple[dict, str]:
    response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == f'W/"{body["version"]}"'
    return body, response["ETag"]


EDITABLE = [name for name, r in RESOURCES.items() if r.first]
DELETABLE = [name for name, r in RESOURCES.items() if r.deletes]


@pytest.mark.parametrize("how", ["if-match", "body"])
@pytest.mark.parametrize("basename", EDITABLE)
def test_a_write_on_a_stale_read_is_refused_with_both_versions(world, basename, how):
    res = RESOURCES[basename]
    client, url = _client(world), _url(basename, res.make(world))
    read, tag = _read(client, url)

    def write(edit: dict):
        if how == "if-match":
            return getattr(client, res.method)(url, edit, format="json", HTTP_IF_MATCH=tag)
        return getattr(client, res.method)(url, {**edit, "version": read["version"]}, format="json")

    first = write(res.first)
    assert first.status_code == 200, first.json()
    assert first.json()["version"] == read["version"] + 1
    assert first["ETag"] == f'W/"{read["version"] + 1}"'
    stored, _ = _read(client, url)

    second = write(res.second)

    assert second.status_code == 412
    body = second.json()
    assert (body["code"], body["rule"]) == ("stale_version", "stale_version")
    assert body["current"] == stored  # the object as stored, as a read answers it
    assert body["yours"] == {**res.second, "version": read["version"]}
    after, _ = _read(client, url)
    assert after == stored  # the refused write changed nothing
    assert after[res.field] == first.json()[res.field] != second.json()["yours"][res.field]


@pytest.mark.parametrize("basename", EDITABLE)
def test_a_write_without_a_precondition_overwrites(world, basename):
    res = RESOURCES[basename]
    client, url = _client(world), _url(basename, res.make(world))
    read, _ = _read(client, url)
    assert getattr(client, res.method)(url, res.first, format="json").status_code == 200

    blind = getattr(client, res.method)(url, res.second, format="json")

    assert blind.status_code == 200
    assert blind.json()["version"] == read["version"] + 2
    assert _read(client, url)[0][res.field] == blind.json()[res.field]


@pytest.mark.parametrize("basename", DELETABLE)
def test_a_delete_on_a_stale_read_is_refused(world, basename):
    res = RESOURCES[basename]
    client, pk = _client(world), res.make(world)
    url = _url(basename, pk)
    read, tag = _read(client, url)
    # Someone else changes it meanwhile (through the API where it can be edited).
    if res.first:
        assert getattr(client, res.method)(url, res.first, format="json").status_code == 200
    else:
        obj = Decision.objects.get(pk=pk)
        obj.rationale = "Grow faster."
        obj.save()

    stale = client.delete(url, HTTP_IF_MATCH=tag)

    assert stale.status_code == 412
    assert stale.json()["current"]["version"] == read["version"] + 1
    assert client.get(url).status_code == 200  # still there
    fresh = client.delete(url, HTTP_IF_MATCH=f'W/"{read["version"] + 1}"')
    assert fresh.status_code == 204
    assert client.get(url).status_code == 404


def test_a_bad_if_match_names_the_header(world):
    client, url = _client(world), _url("api-product", world.product.pk)
    response = client.patch(url, {"description": "x"}, format="json", HTTP_IF_MATCH="yesterday")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["If-Match"])
    response = client.patch(url, {"version": "three"}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["version"])


def test_if_match_and_body_must_agree(world):
    client, url = _client(world), _url("api-person", world.owner_person.pk)
    response = client.patch(url, {"title": "x", "version": 1}, format="json", HTTP_IF_MATCH='"2"')
    assert (response.status_code, list(response.json()["errors"])) == (400, ["version"])


def test_an_investment_request_decided_on_a_stale_read_is_refused(world):
    """Requests change by actions, not PATCH: each action takes the same precondition."""
    found = funding_services.request_create(
        actor=world.owner,
        product=world.product,
        amount="25000.00",
        purpose="New payslip engine",
        fiscal_year=2030,
        submit=False,
    )
    owner, leader = APIClient(), _client(world)
    owner.force_authenticate(world.owner)
    url = reverse("api-investment-request-detail", args=[found.pk])
    read, tag = _read(leader, url)
    submit = reverse("api-investment-request-submit", args=[found.pk])
    assert owner.post(submit, HTTP_IF_MATCH=tag).status_code == 200  # now waiting

    approve = reverse("api-investment-request-approve", args=[found.pk])
    stale = leader.post(approve, {"reason": "Fits."}, format="json", HTTP_IF_MATCH=tag)

    assert stale.status_code == 412
    assert stale.json()["current"]["status"] == "submitted"
    assert stale.json()["yours"] == {"reason": "Fits.", "version": read["version"]}
    current_tag = _read(leader, url)[1]
    ok = leader.post(approve, {"reason": "Fits."}, format="json", HTTP_IF_MATCH=current_tag)
    assert (ok.status_code, ok.json()["status"]) == (200, "approved")


def test_a_sync_that_changes_a_product_makes_an_older_read_stale(world):
    """The bulk upsert writes with set-based SQL; it still moves the version on, so an edit made
    on what was read before the sync is refused rather than undoing the sync."""
    client, url = _client(world), _url("api-product", world.product.pk)
    ExternalId.objects.create(product=world.product, source="cmdb", external_id="PAY")
    unchanged = ExternalId.objects.create(
        product=world.other_product, source="cmdb", external_id="INT"
    )
    read, tag = _read(client, url)
    other_before = _read(client, _url("api-product", unchanged.product_id))[0]["version"]

    synced = client.post(
        reverse("api-product-bulk-upsert"),
        {
            "rows": [
                {"external_id": {"source": "cmdb", "id": "PAY"}, "description": "From the CMDB"},
                {"external_id": {"source": "cmdb", "id": "INT"}, "name": "Intranet"},
            ]
        },
        format="json",
    )
    assert synced.status_code == 200, synced.json()

    after, _ = _read(client, url)
    assert after["version"] == read["version"] + 1
    assert Product.history.filter(id=world.product.pk).latest("history_id").version == (
        read["version"] + 1
    )
    assert _read(client, _url("api-product", unchanged.product_id))[0]["version"] == other_before
    stale = client.patch(url, {"description": "Mine"}, format="json", HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert stale.json()["current"]["description"] == "From the CMDB"
