"""A list page and its API resource share one filterset: the same parameters, the same rows.

Each case builds a small portfolio, then asks the page and /api/v1/ for the same query string
and compares the rows by id. The parameters must narrow the list (fewer rows than unfiltered,
but some), or the comparison would prove nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backlog.models import ItemStatus, ItemType
from funding.services import current_fiscal_year
from products.models import Stage
from tests.backlog.factories import BacklogItemFactory
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import TeamFactory
from tests.world import small_portfolio

pytestmark = pytest.mark.django_db


@dataclass
class World:
    ana: object
    bo: object
    payroll: object
    intranet: object
    hr: object  # a cluster owned by Bo, with two members
    badges: object
    leave: object


@pytest.fixture
def world(db) -> World:
    base = small_portfolio(purpose="Same filters")
    ana, bo, hr = base.ana, base.bo, base.hr
    payroll, intranet, badges, leave = base.payroll, base.intranet, base.badges, base.leave
    TeamFactory(name="Core team", slug="core", members=[ana])
    TeamFactory(name="Web team", slug="web", members=[bo])

    BacklogItemFactory(product=badges, title="Badge printer", type=ItemType.FIX)
    BacklogItemFactory(product=leave, title="Leave report", description="A printer-friendly export")
    BacklogItemFactory(product=leave, title="Leave audit", status=ItemStatus.DONE)
    BacklogItemFactory(product=badges, title="Badge colours", status=ItemStatus.DECLINED)

    now = dt.datetime.now(dt.UTC)
    # The status reads the latest reading kept on the metric (last_value, last_read_at).
    MetricFactory(product=payroll, key="availability", last_value=99.95, last_read_at=now)
    MetricFactory(product=payroll, key="latency", last_value=90.0, last_read_at=now)
    MetricFactory(product=intranet, key="uptime")  # never read: no data
    MetricFactory(product=badges, key="printing", last_value=99.7, last_read_at=now)

    return World(ana, bo, payroll, intranet, hr, badges, leave)


@dataclass
class Case:
    """A page and its API resource; `query` builds the parameters from the world."""

    page: Callable[[World], str]
    api: Callable[[World], str]
    rows: Callable[[object], list[int]]  # the page's row ids from its response context
    query: Callable[[World], dict]
    label: str


def page_of(response) -> list[int]:
    return [row["id"] if isinstance(row, dict) else row.pk for row in response.context["page"]]


def named(key: str) -> Callable[[object], list[int]]:
    return lambda response: [row.pk for row in response.context[key]]


def fixed(name: str) -> Callable[[World], str]:
    return lambda w: reverse(name)


def api(path: str) -> Callable[[World], str]:
    return lambda w: f"/api/v1/{path}/"


CASES = [
    Case(fixed("product-list"), api("products"), page_of, lambda w: {"q": "pay"}, "search"),
    Case(
        fixed("product-list"),
        api("products"),
        page_of,
        lambda w: {"cluster": "hr-services", "stage": Stage.MATURITY},
        "cluster and stage",
    ),
    Case(fixed("product-list"), api("products"), page_of, lambda w: {"owner": w.ana.pk}, "owner"),
    Case(fixed("product-list"), api("products"), page_of, lambda w: {"cluster": "none"}, "none"),
    Case(fixed("cluster-list"), api("clusters"), named("clusters"), lambda w: {"q": "hr"}, "q"),
    Case(
        fixed("cluster-list"),
        api("clusters"),
        named("clusters"),
        lambda w: {"owner": w.bo.pk},
        "owner",
    ),
    Case(fixed("person-list"), api("people"), named("people"), lambda w: {"q": "bo@"}, "q"),
    Case(
        fixed("person-list"),
        api("people"),
        named("people"),
        lambda w: {"active": "false"},
        "active",
    ),
    Case(
        fixed("team-list"), api("teams"), named("teams"), lambda w: {"member": w.ana.pk}, "member"
    ),
    # The backlog page is a unit's; the API names the unit as a filter.
    *[
        Case(
            lambda w: reverse("backlog-detail", args=[w.hr.unit.pk]),
            lambda w: f"/api/v1/backlog-items/?unit={w.hr.unit.pk}",
            page_of,
            query,
            label,
        )
        for query, label in [
            (lambda w: {"q": "printer"}, "backlog q: title or description"),
            (lambda w: {"status": "open"}, "backlog open"),
            (lambda w: {"status": "done"}, "backlog done"),
            (lambda w: {"product": w.leave.pk}, "backlog product id"),
            (lambda w: {"product": "badges", "type": ItemType.FIX}, "backlog product slug, type"),
        ]
    ],
    Case(fixed("metric-list"), api("metrics"), page_of, lambda w: {"status": "red"}, "metrics red"),
    Case(
        fixed("metric-list"),
        api("metrics"),
        page_of,
        lambda w: {"status": ["no_data", "amber"]},
        "metrics no data or amber",
    ),
    Case(
        fixed("metric-list"),
        api("metrics"),
        page_of,
        lambda w: {"product": "payroll"},
        "metrics product",
    ),
    # The approval queue: its status defaults to the waiting ones, so the cases name one.
    *[
        Case(fixed("funding-requests"), api("investment-requests"), page_of, query, label)
        for query, label in [
            (
                lambda w: {"status": "submitted", "fiscal_year": current_fiscal_year()},
                "requests waiting this year",
            ),
            (lambda w: {"status": "submitted", "cluster": "hr-services"}, "requests by cluster"),
            (lambda w: {"status": "approved"}, "requests approved"),
        ]
    ],
]


def _api_ids(client: APIClient, url: str, params: dict) -> list[int]:
    response = client.get(url, params)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body.get("next") is None  # the whole list on one page
    return [row["id"] for row in body["results"]]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_the_page_and_the_api_list_the_same_rows_for_the_same_parameters(
    case, world, leader, client_as
):
    page_client = client_as(leader)
    api_client = APIClient()
    api_client.force_authenticate(leader)
    params = case.query(world)

    page = page_client.get(case.page(world), params)
    assert page.status_code == 200
    on_page = set(case.rows(page))
    on_api = set(_api_ids(api_client, case.api(world), params))
    everything = set(_api_ids(api_client, case.api(world), {}))

    assert on_page == on_api
    assert on_page, "the parameters select nothing: the comparison proves little"
    assert on_page < everything, "the parameters narrow nothing"
