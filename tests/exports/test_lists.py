"""Every list's export has the rows its page and its API list show, with a filter applied.

For each list: the page asked for as CSV and as XLSX (its own URL, the filter, `format=`), and
the API list asked for with `Accept: text/csv` and `?format=xlsx`, all name the same rows as the
page itself (where it lists them) and as the API's JSON list. The filter must narrow the list
(some rows, fewer than unfiltered), or the comparison would prove little.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from funding.services import current_fiscal_year
from portfolio.exports import XLSX_MEDIA_TYPE
from tests.conftest import api_as
from tests.exports.conftest import World
from tests.exports.helpers import column, csv_rows, xlsx_rows

pytestmark = pytest.mark.django_db


def page_of(response) -> list[int]:
    return [row["id"] if isinstance(row, dict) else row.pk for row in response.context["page"]]


def named(key: str) -> Callable:
    return lambda response: [row.pk for row in response.context[key]]


@dataclass
class ListCase:
    label: str
    api: str  # the API list's path under /api/v1/
    query: Callable[[World], dict]  # the filter, as the page and the API name it
    page: Callable[[World], str] | None = None  # None: the list has no page of its own
    page_rows: Callable | None = None  # the keys of the rows the page itself lists
    key: str = "id"  # the column that names a row
    api_query: Callable[[World], dict] | None = None  # when the API names it otherwise
    page_query: dict = field(default_factory=dict)  # what else the page's link carries


def fixed(name: str) -> Callable[[World], str]:
    return lambda w: reverse(name)


YEAR = current_fiscal_year()

CASES = [
    ListCase("products", "products", lambda w: {"stage": "growth"}, fixed("product-list"), page_of),
    ListCase(
        "products by cluster",
        "products",
        lambda w: {"cluster": "hr-services"},
        fixed("product-list"),
        page_of,
    ),
    ListCase(
        "clusters", "clusters", lambda w: {"q": "hr"}, fixed("cluster-list"), named("clusters")
    ),
    ListCase(
        "people", "people", lambda w: {"active": "false"}, fixed("person-list"), named("people")
    ),
    ListCase(
        "backlog of a unit",
        "backlog-items",
        lambda w: {"status": "open"},
        lambda w: reverse("backlog-detail", args=[w.hr.unit.pk]),
        page_of,
        api_query=lambda w: {"unit": w.hr.unit.pk, "status": "open"},
    ),
    ListCase("metrics", "metrics", lambda w: {"status": "red"}, fixed("metric-list"), page_of),
    ListCase(
        "readings of a metric",
        "metric-readings",
        lambda w: {},
        lambda w: reverse("metric-detail", args=[w.availability.pk]),
        page_of,
        api_query=lambda w: {"metric": w.availability.pk},
    ),
    ListCase(
        "owner load",
        "owner-load",
        lambda w: {"person": w.ana.pk},
        fixed("owner-load-list"),
        lambda response: [load.person_id for load in response.context["page"]],
        key="person",
    ),
    ListCase(
        "split signals",
        "split-signals",
        lambda w: {"status": "open", "kind": "strategic"},
        fixed("split-signal-list"),
        page_of,
    ),
    ListCase("candidates", "candidates", lambda w: {"top": 1}, key="product"),
    ListCase("readiness", "readiness", lambda w: {"product": "payroll"}, key="product"),
    ListCase(
        "funding allocations",
        "funding-allocations",
        lambda w: {"year": YEAR, "mode": "reactive"},
        fixed("funding-portfolio"),
        api_query=lambda w: {"fiscal_year": YEAR, "mode": "reactive"},
    ),
    ListCase(
        "investment requests",
        "investment-requests",
        lambda w: {"status": "submitted", "fiscal_year": YEAR},
        fixed("funding-requests"),
        page_of,
    ),
    ListCase(
        "decisions of a cycle",
        "decisions",
        lambda w: {"kind": "invest"},
        lambda w: reverse("review-cycle", args=[w.cycle.pk]),
        api_query=lambda w: {"cycle": w.cycle.pk, "kind": "invest"},
        page_query={"list": "decisions"},
    ),
    ListCase(
        "action items of a cycle",
        "action-items",
        lambda w: {"done": "true"},
        lambda w: reverse("review-cycle", args=[w.cycle.pk]),
        api_query=lambda w: {"cycle": w.cycle.pk, "done": "true"},
        page_query={"list": "actions"},
    ),
]


def _json_keys(client, path: str, params: dict, key: str) -> list:
    response = client.get(f"/api/v1/{path}/", {**params, "page_size": 1000})
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


def _keys(rows, key: str) -> list[str]:
    return [str(value) for value in column(rows, key)]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_an_export_has_the_rows_of_its_page_and_its_api_list(case, world, viewer, client_as):
    api = api_as(viewer)
    api_params = (case.api_query or case.query)(world)
    listed = _json_keys(api, case.api, api_params, case.key)
    everything = _json_keys(api, case.api, {}, case.key)
    assert listed, "the filter keeps nothing: the comparison proves little"
    assert len(listed) < len(everything), "the filter narrows nothing"
    expected = [str(k) for k in listed]

    url = f"/api/v1/{case.api}/"
    as_csv = api.get(url, api_params, HTTP_ACCEPT="text/csv")
    as_xlsx = api.get(url, {**api_params, "format": "xlsx"})
    assert _keys(csv_rows(as_csv), case.key) == expected
    assert _keys(xlsx_rows(as_xlsx), case.key) == expected
    by_accept = api.get(url, api_params, HTTP_ACCEPT=XLSX_MEDIA_TYPE)
    assert _keys(xlsx_rows(by_accept), case.key) == expected

    if case.page is None:
        return
    client = client_as(viewer)
    params = {**case.query(world), **case.page_query}
    page_csv = _keys(csv_rows(client.get(case.page(world), {**params, "format": "csv"})), case.key)
    page_xlsx = client.get(case.page(world), {**params, "format": "xlsx"})
    assert sorted(page_csv) == sorted(expected)
    assert _keys(xlsx_rows(page_xlsx), case.key) == page_csv
    if case.page_rows is not None:
        page = client.get(case.page(world), params)
        assert page.status_code == 200
        # The file lists the page's rows in the page's order.
        assert page_csv == [str(k) for k in case.page_rows(page)]
