"""Permission cases for the funding pages: every route, GET and POST, five roles.

Everyone logged in reads the portfolio funding view, the approval queue, a request and a
unit's funding panel. The unit's owner and leaders ask for money (others 403); only leaders
set allocations and decide requests (the owner of the unit too gets 403: nobody decides for
their own unit); the requester, the unit's owner and leaders submit or withdraw. A plain POST
that succeeds redirects; methods a route does not serve answer 405.
"""

from __future__ import annotations

from decimal import Decimal

from funding.models import InvestmentRequest, RequestStatus
from funding.services import current_fiscal_year
from tests.permissions.cases_pages import (
    NOT_ALLOWED,
    everyone,
    leader_only,
    unit_owner_or_leader,
)
from tests.permissions.spec import Case, World, page_read


def _request(w: World, status: str = RequestStatus.SUBMITTED) -> InvestmentRequest:
    """A request by the owner for `w.product` (the owner role's unit)."""
    return InvestmentRequest.objects.create(
        unit=w.product.unit,
        product=w.product,
        fiscal_year=current_fiscal_year(),
        amount=Decimal("25000.00"),
        purpose="Payslip archive",
        status=status,
        requested_by=w.owner,
        decision_reason="Waiting for a leader: above the governance threshold.",
    )


waiting = lambda w: {"pk": _request(w).pk}  # noqa: E731
draft = lambda w: {"pk": _request(w, RequestStatus.DRAFT).pk}  # noqa: E731
unit = lambda w: {"unit_id": w.product.unit_id}  # noqa: E731
cluster_unit = lambda w: {"unit_id": w.cluster.unit.pk}  # noqa: E731


def with_a_waiting_request(w: World) -> dict:
    """No URL arguments; the queue has a row, so the page draws one."""
    _request(w)
    return {}


def ask(w: World, amount: str = "500.00") -> dict:
    return {
        "product": w.product.pk,
        "amount": amount,
        "purpose": "Dark mode",
        "metric": "",
        "expected_effect": "",
        "fiscal_year": current_fiscal_year(),
        "action": "submit",
    }


def allocation(w: World) -> dict:
    return {
        "operations_amount": "1000",
        "improvement_amount": "500.50",
        "mode": "capacity",
        "note": "",
        "fiscal_year": current_fiscal_year(),
    }


CASES = [
    Case("funding-portfolio", page_read()),
    Case("funding-summary", page_read()),
    Case("funding-summary", page_read(), htmx=True, label="dashboard panel"),
    Case("funding-portfolio", page_read(), query="?year=2025", htmx=True, label="report"),
    Case("funding-portfolio", page_read(), query="?year=abc", label="bad year"),
    Case("funding-portfolio", NOT_ALLOWED, method="post"),
    Case("funding-requests", page_read(), kwargs=with_a_waiting_request),
    Case(
        "funding-requests",
        page_read(),
        query="?status=all&cluster=employee-experience&stage=growth&mode=none",
        htmx=True,
        label="table",
    ),
    Case("funding-requests", NOT_ALLOWED, method="post"),
    Case("funding-request", page_read(), kwargs=waiting),
    Case("funding-request", NOT_ALLOWED, method="post", kwargs=waiting),
    Case("funding-request", everyone(404), kwargs=lambda w: {"pk": 999999}, label="missing"),
    Case(
        "funding-request-decide",
        leader_only(302),
        method="post",
        kwargs=waiting,
        data=lambda w: {"decision": "approve", "reason": "Worth it"},
    ),
    Case(
        "funding-request-decide",
        leader_only(200),
        method="post",
        kwargs=waiting,
        data=lambda w: {"decision": "reject", "reason": "Not now"},
        htmx=True,
        label="row",
    ),
    Case(
        "funding-request-decide",
        leader_only(400),
        method="post",
        kwargs=waiting,
        data=lambda w: {"decision": "reject", "reason": ""},
        htmx=True,
        label="no reason",
    ),
    Case("funding-request-decide", NOT_ALLOWED, kwargs=waiting),
    Case("funding-request-submit", unit_owner_or_leader(302), method="post", kwargs=draft),
    Case("funding-request-submit", NOT_ALLOWED, kwargs=draft),
    Case("funding-request-withdraw", unit_owner_or_leader(302), method="post", kwargs=waiting),
    Case("funding-request-withdraw", NOT_ALLOWED, kwargs=waiting),
    Case("funding-unit", page_read(), kwargs=unit),
    Case("funding-unit", page_read(), kwargs=cluster_unit, htmx=True, label="panel"),
    Case("funding-unit", everyone(404), kwargs=lambda w: {"unit_id": 999999}, label="missing"),
    Case("funding-unit", NOT_ALLOWED, method="post", kwargs=unit),
    Case("funding-unit-request", unit_owner_or_leader(302), method="post", kwargs=unit, data=ask),
    Case(
        "funding-unit-request",
        unit_owner_or_leader(200),
        method="post",
        kwargs=unit,
        data=ask,
        htmx=True,
        label="panel",
    ),
    Case(
        "funding-unit-request",
        unit_owner_or_leader(400),
        method="post",
        kwargs=unit,
        data=lambda w: ask(w, "-5"),
        htmx=True,
        label="bad amount",
    ),
    Case("funding-unit-request", NOT_ALLOWED, kwargs=unit),
    Case("funding-unit-allocation", leader_only(302), method="post", kwargs=unit, data=allocation),
    Case(
        "funding-unit-allocation",
        leader_only(200),
        method="post",
        kwargs=unit,
        data=allocation,
        htmx=True,
        label="panel",
    ),
    Case("funding-unit-allocation", NOT_ALLOWED, kwargs=unit),
]
