"""Permission cases for /api/v1/funding-allocations/ and investment-requests/.

Reads: anonymous 401, every login 200. Allocations are set by leaders only (everyone else 403);
there is no DELETE. Requests: the owner of the product's unit and leaders ask and submit; the
requester, the unit's owner and leaders withdraw; only leaders approve or reject (owners 403,
even for their own unit), and never a request they asked for (403 `no_self_approval`). Writes
use valid data, so the success path runs.
"""

from __future__ import annotations

from funding import services
from funding.models import FundingAllocation, InvestmentRequest
from tests.permissions.spec import Case, World, api_read

NOT_ALLOWED = api_read(viewer=405, owner=405, other_owner=405, leader=405)
YEAR = 2026


def leaders_only(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": 403, "other_owner": 403, "leader": ok}


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


def nobody(code: int = 403) -> dict[str, int]:
    return {"anonymous": 401, "viewer": code, "owner": code, "other_owner": code, "leader": code}


def allocation(w: World) -> dict:
    found = FundingAllocation.objects.create(
        unit=w.product.unit, fiscal_year=YEAR, operations_amount=10, improvement_amount=1000
    )
    return {"pk": found.pk}


def _request(w: World, *, by=None, submit: bool = True) -> InvestmentRequest:
    # No allocation for the unit: every submitted request waits for a leader.
    return services.request_create(
        actor=by or w.owner,
        product=w.product,
        amount="25000.00",
        purpose="New payslip engine",
        fiscal_year=YEAR,
        submit=submit,
    )


def waiting(w: World) -> dict:
    return {"pk": _request(w).pk}


def draft(w: World) -> dict:
    return {"pk": _request(w, submit=False).pk}


def asked_by_leader(w: World) -> dict:
    return {"pk": _request(w, by=w.leader).pk}


def api(url_name: str, expect: dict[str, int], method: str = "get", **kw) -> Case:
    return Case(url_name, expect, method=method, api=True, **kw)


REASON = lambda w: {"reason": "Worth it"}  # noqa: E731

CASES = [
    # allocations
    api("api-funding-allocation-list", api_read()),
    api(
        "api-funding-allocation-list",
        api_read(),
        query="?unit=1&fiscal_year=2026&mode=capacity&mode=reactive&cluster=employee-experience"
        "&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-funding-allocation-list",
        leaders_only(201),
        "post",
        data=lambda w: {
            "unit": w.product.unit_id,
            "fiscal_year": YEAR,
            "operations_amount": "60000.00",
            "improvement_amount": "40000.00",
        },
    ),
    api("api-funding-allocation-list", NOT_ALLOWED, "delete"),
    api("api-funding-allocation-detail", api_read(), kwargs=allocation),
    api(
        "api-funding-allocation-detail",
        leaders_only(200),
        "patch",
        kwargs=allocation,
        data=lambda w: {"mode": "project", "note": "Moved to projects"},
    ),
    api(
        "api-funding-allocation-detail",
        leaders_only(200),
        "put",
        kwargs=allocation,
        data=lambda w: {"operations_amount": "5", "improvement_amount": "2000"},
    ),
    api("api-funding-allocation-detail", NOT_ALLOWED, "delete", kwargs=allocation),
    # investment requests
    api("api-investment-request-list", api_read()),
    api(
        "api-investment-request-list",
        api_read(),
        query="?status=submitted&status=approved&unit=1&product=payroll&fiscal_year=2026"
        "&cluster=1&min_amount=10&max_amount=100000.00&updated_since=2020-01-01T00:00Z",
        label="filtered",
    ),
    api(
        "api-investment-request-list",
        unit_owner_or_leader(201),
        "post",
        data=lambda w: {
            "product": "payroll",
            "amount": "1250.50",
            "purpose": "Self-service payslips",
            "fiscal_year": YEAR,
        },
    ),
    api("api-investment-request-list", NOT_ALLOWED, "delete"),
    api("api-investment-request-detail", api_read(), kwargs=waiting),
    api("api-investment-request-detail", NOT_ALLOWED, "patch", kwargs=waiting, data=REASON),
    api("api-investment-request-detail", NOT_ALLOWED, "put", kwargs=waiting, data=REASON),
    api("api-investment-request-detail", NOT_ALLOWED, "delete", kwargs=waiting),
    api("api-investment-request-submit", unit_owner_or_leader(200), "post", kwargs=draft),
    api("api-investment-request-submit", NOT_ALLOWED, "get", kwargs=draft),
    api("api-investment-request-withdraw", unit_owner_or_leader(200), "post", kwargs=waiting),
    api("api-investment-request-withdraw", NOT_ALLOWED, "get", kwargs=waiting),
    api("api-investment-request-approve", leaders_only(200), "post", kwargs=waiting, data=REASON),
    api(
        "api-investment-request-approve",
        nobody(),
        "post",
        kwargs=asked_by_leader,
        data=REASON,
        label="asked by the leader",
    ),
    api("api-investment-request-approve", NOT_ALLOWED, "get", kwargs=waiting),
    api("api-investment-request-reject", leaders_only(200), "post", kwargs=waiting, data=REASON),
    api(
        "api-investment-request-reject",
        nobody(),
        "post",
        kwargs=asked_by_leader,
        data=REASON,
        label="asked by the leader",
    ),
    api("api-investment-request-reject", NOT_ALLOWED, "get", kwargs=waiting),
]
