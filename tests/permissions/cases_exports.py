"""Permission cases for the CSV and XLSX exports of every list (issue 15).

A page asked for as a file (`?format=csv|xlsx`) keeps the page's rules: anonymous goes to the
login, every login may export what it may see. An API list asked for as a file keeps the
list's: anonymous 401, every login 200. None of these lists is for leaders only.
"""

from __future__ import annotations

from tests.permissions.cases_backlog_pages import cluster_unit
from tests.permissions.cases_backlog_pages import unit as backlog_unit
from tests.permissions.cases_funding_pages import with_a_waiting_request
from tests.permissions.cases_metrics_pages import metric
from tests.permissions.cases_reviews_pages import _action, _decision, cycle
from tests.permissions.spec import Case, World, api_read, page_read


def decided_cycle(w: World) -> dict:
    """The cycle with a decision and an action item in it."""
    _decision(w)
    _action(w)
    return cycle(w)


PAGES = [
    ("product-list", {}, "?stage=maturity&format=csv"),
    ("product-list", {}, "?format=xlsx"),
    ("cluster-list", {}, "?format=csv"),
    ("cluster-list", {}, "?q=employee&format=xlsx"),
    ("person-list", {}, "?format=csv"),
    ("person-list", {}, "?active=true&format=xlsx"),
    ("backlog-detail", backlog_unit, "?format=csv"),
    ("backlog-detail", cluster_unit, "?status=open&format=xlsx"),
    ("metric-list", {}, "?status=red&format=csv"),
    ("metric-list", {}, "?format=xlsx"),
    ("metric-detail", metric, "?format=csv"),
    ("metric-detail", metric, "?format=xlsx"),
    ("owner-load-list", {}, "?format=csv"),
    ("owner-load-list", {}, "?status=over&format=xlsx"),
    ("split-signal-list", {}, "?status=all&format=csv"),
    ("split-signal-list", {}, "?format=xlsx"),
    ("funding-portfolio", {}, "?year=2025&format=csv"),
    ("funding-portfolio", {}, "?format=xlsx"),
    ("funding-requests", with_a_waiting_request, "?format=csv"),
    ("funding-requests", {}, "?status=all&format=xlsx"),
    ("review-cycle", decided_cycle, "?list=decisions&format=csv"),
    ("review-cycle", decided_cycle, "?list=actions&format=xlsx"),
]

APIS = [
    "api-product-list",
    "api-cluster-list",
    "api-person-list",
    "api-backlog-item-list",
    "api-metric-list",
    "api-metric-reading-list",
    "api-owner-load-list",
    "api-split-signal-list",
    "api-candidate-list",
    "api-readiness-list",
    "api-funding-allocation-list",
    "api-investment-request-list",
    "api-decision-list",
    "api-action-item-list",
]


def _kwargs(given):
    return given if callable(given) else (lambda w: {})


CASES = [
    *[
        Case(name, page_read(), kwargs=_kwargs(kwargs), query=query, label=f"export {query}")
        for name, kwargs, query in PAGES
    ],
    *[
        Case(name, api_read(), query=f"?format={fmt}", api=True, label=f"export {fmt}")
        for name in APIS
        for fmt in ("csv", "xlsx")
    ],
]
