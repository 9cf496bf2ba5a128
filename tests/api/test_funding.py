"""/api/v1/funding-allocations/ and investment-requests/: the threshold and capacity rules at
their boundaries through the API, exact money in the JSON, who may decide, bad input named by
field, strict filters and flat query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from funding import services
from funding.models import FundingAllocation, InvestmentRequest
from portfolio.models import PortfolioSettings
from tests.api.conftest import client_for
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

ALLOCATIONS = reverse("api-funding-allocation-list")
REQUESTS = reverse("api-investment-request-list")
YEAR = 2026
NOT_FLOAT = 'Send the amount as a string or a whole number, e.g. "1250.50".'


def url(name: str, pk: int) -> str:
    return reverse(f"api-{name}", args=[pk])


@pytest.fixture
def funded(leader, product):
    """Payroll: 40,000.00 to improve it in 2026; the threshold is 10,000.00."""
    settings = PortfolioSettings.load()
    settings.governance_threshold = Decimal("10000.00")
    settings.save()
    services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=YEAR,
        operations_amount="60000", improvement_amount="40000.00",
    )  # fmt: skip
    return product


def ask(client, amount, product="payroll", **extra):
    body = {"product": product, "amount": amount, "purpose": "Faster payslips", **extra}
    return client.post(REQUESTS, {"fiscal_year": YEAR, **body}, format="json")


def waiting(owner, product, amount: str = "25000.00") -> InvestmentRequest:
    return services.request_create(
        actor=owner, product=product, amount=amount, purpose="New payslip engine",
        fiscal_year=YEAR, submit=True,
    )  # fmt: skip


def allocation_of(product) -> dict:
    client = client_for(UserFactory(username="reader"))
    found = FundingAllocation.objects.get(unit=product.unit, fiscal_year=YEAR)
    return client.get(url("funding-allocation-detail", found.pk)).json()


# --- Investment requests: the rules through the API ----------------------------------------------


@pytest.mark.parametrize(
    ("amount", "status", "auto"),
    [
        ("10000.00", "approved", True),  # at the threshold: the rules approve it
        ("10000.01", "submitted", False),  # one cent above: a leader decides
        (10000, "approved", True),  # a whole JSON number is exact too
    ],
)
def test_the_governance_threshold(owner, funded, amount, status, auto):
    response = ask(client_for(owner), amount)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["auto_approved"]) == (status, auto)
    assert body["amount"] == f"{Decimal(amount):.2f}"
    assert response["Location"] == url("investment-request-detail", body["id"])
    assert body["decision_reason"]
    if auto:
        assert body["decided_by"] == "owner" and body["decided_at"]
    else:
        assert body["decided_by"] is None and body["submitted_at"]


def test_the_capacity_boundary(owner, funded):
    client = client_for(owner)
    for _ in range(3):
        assert ask(client, "10000.00").json()["status"] == "approved"
    assert allocation_of(funded)["remaining"] == "10000.00"

    assert ask(client, "9999.99").json()["status"] == "approved"
    assert ask(client, "0.02").json()["status"] == "submitted"  # 0.01 left
    assert ask(client, "0.01").json()["status"] == "approved"  # fits exactly

    body = allocation_of(funded)
    assert (body["committed"], body["remaining"], body["waiting"]) == (
        "40000.00",
        "0.00",
        "0.02",
    )


def test_money_is_exact_in_the_json(leader, owner, product):
    services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=YEAR,
        operations_amount="0", improvement_amount="1.00",
    )  # fmt: skip
    client = client_for(owner)
    assert ask(client, "0.10").json()["amount"] == "0.10"
    assert ask(client, "0.20").json()["amount"] == "0.20"

    body = allocation_of(product)
    assert (body["committed"], body["remaining"]) == ("0.30", "0.70")  # not 0.30000000000000004
    assert body["operations_amount"] == "0.00" and body["currency"] == "EUR"


def test_a_draft_is_submitted_then_withdrawn_or_decided(owner, funded):
    client = client_for(owner)
    draft = ask(client, "500", submit=False).json()
    assert (draft["status"], draft["version"], draft["submitted_at"]) == ("draft", 1, None)

    submitted = client.post(url("investment-request-submit", draft["id"]))
    assert submitted.status_code == 200
    assert (submitted.json()["status"], submitted.json()["version"]) == ("approved", 2)
    again = client.post(url("investment-request-submit", draft["id"]))
    assert (again.status_code, again.json()["rule"]) == (409, "request_not_draft")

    big = ask(client, "20000").json()
    withdrawn = client.post(url("investment-request-withdraw", big["id"]))
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    late = client.post(url("investment-request-withdraw", draft["id"]))
    assert (late.status_code, late.json()["rule"]) == (409, "request_decided")


def test_a_request_answers_every_documented_field(owner, funded):
    metric = MetricFactory(product=funded)
    body = ask(
        client_for(owner), "12000.50", product=funded.pk, metric=metric.pk,
        expected_effect="Payslips in 2 minutes instead of 10",
    ).json()  # fmt: skip

    assert body == {
        "id": body["id"],
        "unit": funded.unit_id,
        "unit_name": "Payroll",
        "product": "payroll",
        "fiscal_year": YEAR,
        "amount": "12000.50",
        "currency": "EUR",
        "purpose": "Faster payslips",
        "metric": metric.pk,
        "expected_effect": "Payslips in 2 minutes instead of 10",
        "status": "submitted",
        "auto_approved": False,
        "requested_by": "owner",
        "submitted_at": body["submitted_at"],
        "decided_at": None,
        "decided_by": None,
        "decision_reason": body["decision_reason"],
        "version": 2,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert "above the governance threshold of 10,000.00 EUR" in body["decision_reason"]
    assert client_for(owner).get(url("investment-request-detail", body["id"])).json() == body


# --- Who decides ---------------------------------------------------------------------------------


def test_only_another_leader_approves(owner, viewer, leader, funded):
    request = waiting(owner, funded)
    approve = url("investment-request-approve", request.pk)

    for user in (owner, viewer):  # the owner may not approve, even their own request
        response = client_for(user).post(approve, {"reason": "Mine"}, format="json")
        assert (response.status_code, response.json()["rule"]) == (403, "leader_only")

    response = client_for(leader).post(approve, {"reason": "Worth it"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decided_by"], body["decision_reason"]) == (
        "approved",
        "leader",
        "Worth it",
    )
    assert body["decided_at"] and body["auto_approved"] is False

    twice = client_for(leader).post(approve, {"reason": "Again"}, format="json")
    assert (twice.status_code, twice.json()["rule"]) == (409, "request_not_waiting")


def test_a_leader_never_decides_their_own(owner, leader, funded):
    asked = ask(client_for(leader), "30000").json()  # a leader asked for it
    response = client_for(leader).post(
        url("investment-request-approve", asked["id"]), {"reason": "Mine"}, format="json"
    )
    assert (response.status_code, response.json()["rule"]) == (403, "no_self_approval")

    owning_leader = UserFactory(username="boss", leader=True)
    boss = PersonFactory(name="Bo Boss", user=owning_leader)
    own_unit = ProductFactory(name="Ledger", slug="ledger", owner=boss)
    theirs = waiting(owning_leader, own_unit, "20000")  # no allocation: waits anyway
    response = client_for(owning_leader).post(
        url("investment-request-reject", theirs.pk), {"reason": "Mine"}, format="json"
    )
    assert (response.status_code, response.json()["rule"]) == (403, "no_self_approval")


@pytest.mark.parametrize("body", [{}, {"reason": "   "}])
def test_a_decision_needs_a_reason(owner, leader, funded, body):
    request = waiting(owner, funded)

    response = client_for(leader).post(
        url("investment-request-reject", request.pk), body, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    request.refresh_from_db()
    assert request.status == "submitted"


def test_reject_with_a_reason(owner, leader, funded):
    request = waiting(owner, funded)

    response = client_for(leader).post(
        url("investment-request-reject", request.pk), {"reason": "Not this year"}, format="json"
    )

    assert (response.status_code, response.json()["status"]) == (200, "rejected")
    assert allocation_of(funded)["waiting"] == "0.00"


def test_other_owners_and_viewers_cannot_ask(other_owner, viewer, funded):
    for user in (other_owner, viewer):
        response = ask(client_for(user), "100")
        assert (response.status_code, response.json()["rule"]) == (403, "unit_owner_or_leader")
    assert not InvestmentRequest.objects.exists()


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"amount": "-5"}, "amount", "Must be more than zero."),
        ({"amount": "0"}, "amount", "Must be more than zero."),
        ({"amount": "abc"}, "amount", "Not an amount; e.g. 1250.50."),
        ({"amount": "NaN"}, "amount", "Not an amount; e.g. 1250.50."),
        (
            {"amount": 12.5},
            "amount",
            'Send the amount as a string or a whole number, e.g. "1250.50".',
        ),  # noqa: E501
        (
            {"amount": True},
            "amount",
            'Send the amount as a string or a whole number, e.g. "1250.50".',
        ),  # noqa: E501
        ({"amount": "12.345"}, "amount", "At most two decimals."),
        ({"amount": "1e40"}, "amount", "At most 999,999,999,999.99."),
        ({"amount": 10**40}, "amount", "At most 999,999,999,999.99."),
        ({"amount": [1]}, "amount", "Not an amount; e.g. 1250.50."),
        ({"product": "no-such-product"}, "product", "No product with id or slug: no-such-product."),
        (
            {"product": 99999999999999999999},
            "product",
            "No product with id or slug: 99999999999999999999.",
        ),
        ({"product": {"id": 1}}, "product", "Give a product id or slug."),
        ({"fiscal_year": 1999}, "fiscal_year", None),
        ({"fiscal_year": 2101}, "fiscal_year", None),
        ({"fiscal_year": "soon"}, "fiscal_year", None),
        ({"metric": 2**63}, "metric", "Give an id (a whole number)."),
        ({"metric": 424242}, "metric", "No metric with id 424242."),
        ({"purpose": ""}, "purpose", None),
        ({"purpose": "a\x00b"}, "purpose", None),
        ({"submit": "maybe"}, "submit", None),
    ],
)
def test_bad_requests_name_the_field(owner, funded, extra, field, message):
    response = ask(client_for(owner), **{"amount": "100", **extra})

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]
    assert not InvestmentRequest.objects.exists()


def test_a_metric_of_another_unit_is_refused(owner, funded, other_product):
    response = ask(client_for(owner), "100", metric=MetricFactory(product=other_product).pk)
    assert (response.status_code, list(response.json()["errors"])) == (400, ["metric"])


def test_a_missing_body_names_every_required_field(owner):
    response = client_for(owner).post(REQUESTS, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"product", "amount", "purpose"}


# --- Allocations ---------------------------------------------------------------------------------


def test_allocations_are_set_by_leaders_201_then_200(leader, owner, viewer, product):
    body = {
        "unit": product.unit_id, "fiscal_year": YEAR,
        "operations_amount": "60000.00", "improvement_amount": 40000, "note": "Base budget",
    }  # fmt: skip
    for user in (owner, viewer):
        response = client_for(user).post(ALLOCATIONS, body, format="json")
        assert (response.status_code, response.json()["rule"]) == (403, "leader_only")

    created = client_for(leader).post(ALLOCATIONS, body, format="json")
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "unit": product.unit_id,
        "unit_name": "Payroll",
        "fiscal_year": YEAR,
        "operations_amount": "60000.00",
        "improvement_amount": "40000.00",
        "mode": "capacity",
        "note": "Base budget",
        "committed": "0.00",
        "waiting": "0.00",
        "remaining": "40000.00",
        "currency": "EUR",
        "created_at": created.json()["created_at"],
        "updated_at": created.json()["updated_at"],
        "version": 1,
    }
    assert created["Location"] == url("funding-allocation-detail", created.json()["id"])

    replaced = client_for(leader).post(
        ALLOCATIONS, {**body, "improvement_amount": "50000.5", "mode": "project"}, format="json"
    )
    assert replaced.status_code == 200
    assert replaced.json()["id"] == created.json()["id"]
    assert (replaced.json()["improvement_amount"], replaced.json()["mode"]) == (
        "50000.50",
        "project",
    )
    assert FundingAllocation.objects.count() == 1


def test_patch_and_put_keep_the_unit_and_year(leader, owner, funded):
    found = FundingAllocation.objects.get()
    detail = url("funding-allocation-detail", found.pk)

    forbidden = client_for(owner).patch(detail, {"mode": "reactive"}, format="json")
    assert (forbidden.status_code, forbidden.json()["rule"]) == (403, "leader_only")

    patched = client_for(leader).patch(detail, {"mode": "reactive"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["mode"], patched.json()["improvement_amount"]) == (
        "reactive",
        "40000.00",
    )

    incomplete = client_for(leader).put(detail, {"operations_amount": "1"}, format="json")
    assert (incomplete.status_code, list(incomplete.json()["errors"])) == (
        400,
        ["improvement_amount"],
    )
    put = client_for(leader).put(
        detail, {"operations_amount": "1", "improvement_amount": "2"}, format="json"
    )
    assert put.status_code == 200
    assert (put.json()["operations_amount"], put.json()["mode"]) == ("1.00", "reactive")
    assert (put.json()["unit"], put.json()["fiscal_year"]) == (funded.unit_id, YEAR)

    assert client_for(leader).delete(detail).status_code == 405


def test_an_allocation_never_goes_below_what_is_committed(leader, owner, funded):
    ask(client_for(owner), "10000.00")
    found = FundingAllocation.objects.get()

    response = client_for(leader).patch(
        url("funding-allocation-detail", found.pk),
        {"improvement_amount": "9999.99"},
        format="json",
    )

    assert response.status_code == 409
    assert (response.json()["rule"], list(response.json()["errors"])) == (
        "below_committed",
        ["improvement_amount"],
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"unit": 987654}, "unit"),  # unknown unit: 400 naming the field, not 404
        ({"unit": "payroll"}, "unit"),
        ({"unit": 2**63}, "unit"),
        ({"fiscal_year": 1999}, "fiscal_year"),
        ({"operations_amount": "-1"}, "operations_amount"),
        ({"improvement_amount": "abc"}, "improvement_amount"),
        ({"improvement_amount": 0.1}, "improvement_amount"),
        ({"mode": "whenever"}, "mode"),
    ],
)
def test_bad_allocations_name_the_field(leader, product, extra, field):
    body = {
        "unit": product.unit_id, "fiscal_year": YEAR,
        "operations_amount": "1", "improvement_amount": "1", **extra,
    }  # fmt: skip

    response = client_for(leader).post(ALLOCATIONS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not FundingAllocation.objects.exists()


def test_a_dormant_unit_is_not_funded(leader, cluster):
    member = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    dormant = member.own_unit
    body = {"fiscal_year": YEAR, "operations_amount": "1", "improvement_amount": "1"}

    refused = client_for(leader).post(ALLOCATIONS, {**body, "unit": dormant.pk}, format="json")
    assert refused.status_code == 400
    assert "dormant" in refused.json()["errors"]["unit"][0]

    cluster_unit = client_for(leader).post(
        ALLOCATIONS, {**body, "unit": cluster.unit.pk}, format="json"
    )
    assert (cluster_unit.status_code, cluster_unit.json()["unit_name"]) == (
        201,
        "Employee experience",
    )


# --- Filters -------------------------------------------------------------------------------------


@pytest.fixture
def two_units(leader, owner, funded, cluster, other_owner, other_product):
    """Payroll funded in 2026 and 2027 with a few requests; the cluster funded reactively."""
    services.allocation_set(
        actor=leader, unit=funded.unit, fiscal_year=2027,
        operations_amount="1", improvement_amount="1",
    )  # fmt: skip
    services.allocation_set(
        actor=leader, unit=cluster.unit, fiscal_year=YEAR,
        operations_amount="1", improvement_amount="0", mode="reactive",
    )  # fmt: skip
    member = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    waiting(owner, funded, "500.00")  # approved
    waiting(owner, funded, "25000.00")  # waiting
    waiting(owner, member, "100.00")  # waiting: no capacity in the cluster
    return funded


def ids(response) -> list:
    assert response.status_code == 200, response.json()
    return [row.get("product") or row["unit_name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["onboarding", "payroll", "payroll"]),
        ({"status": ["submitted"]}, ["onboarding", "payroll"]),
        ({"status": ["approved", "draft"]}, ["payroll"]),
        ({"product": "onboarding"}, ["onboarding"]),
        ({"cluster": "employee-experience"}, ["onboarding"]),
        ({"min_amount": "500.00", "max_amount": "500"}, ["payroll"]),
        ({"min_amount": "500.01"}, ["payroll"]),
        ({"fiscal_year": 2027}, []),
        ({"updated_since": "2000-01-01T00:00:00Z"}, ["onboarding", "payroll", "payroll"]),
    ],
)
def test_request_filters(two_units, viewer, query, expected):
    assert ids(client_for(viewer).get(REQUESTS, query)) == expected


def test_request_filter_by_unit(two_units, viewer):
    assert ids(client_for(viewer).get(REQUESTS, {"unit": two_units.unit_id})) == [
        "payroll",
        "payroll",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Employee experience", "Payroll", "Payroll"]),
        ({"fiscal_year": YEAR}, ["Employee experience", "Payroll"]),
        ({"mode": "reactive"}, ["Employee experience"]),
        ({"mode": ["capacity", "project"]}, ["Payroll", "Payroll"]),
        ({"cluster": "employee-experience"}, ["Employee experience"]),
    ],
)
def test_allocation_filters(two_units, viewer, query, expected):
    assert sorted(ids(client_for(viewer).get(ALLOCATIONS, query))) == expected


def test_allocations_list_newest_year_first_with_their_sums(two_units, viewer):
    rows = client_for(viewer).get(ALLOCATIONS).json()["results"]
    assert [(r["fiscal_year"], r["unit_name"]) for r in rows] == [
        (2027, "Payroll"),
        (2026, "Employee experience"),
        (2026, "Payroll"),
    ]
    cluster_row, payroll = rows[1], rows[2]
    assert (payroll["committed"], payroll["waiting"], payroll["remaining"]) == (
        "500.00",
        "25000.00",
        "39500.00",
    )
    assert (cluster_row["waiting"], cluster_row["remaining"]) == ("100.00", "0.00")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (REQUESTS, {"status": "pending"}, "status"),
        (REQUESTS, {"unit": "payroll"}, "unit"),
        (REQUESTS, {"unit": "99999999999999999999"}, "unit"),
        (REQUESTS, {"product": "a b"}, "product"),
        (REQUESTS, {"fiscal_year": "1999"}, "fiscal_year"),
        (REQUESTS, {"fiscal_year": "next"}, "fiscal_year"),
        (REQUESTS, {"min_amount": "abc"}, "min_amount"),
        (REQUESTS, {"min_amount": "-1"}, "min_amount"),
        (REQUESTS, {"max_amount": "1e999"}, "max_amount"),
        (REQUESTS, {"max_amount": "NaN"}, "max_amount"),
        (REQUESTS, {"min_amount": "10", "max_amount": "5"}, "max_amount"),
        (REQUESTS, {"updated_since": "yesterday"}, "updated_since"),
        (REQUESTS, {"cluster": "../x"}, "cluster"),
        (ALLOCATIONS, {"mode": "whenever"}, "mode"),
        (ALLOCATIONS, {"unit": "-1"}, "unit"),
        (ALLOCATIONS, {"fiscal_year": "2101"}, "fiscal_year"),
        (ALLOCATIONS, {"cluster": "a b"}, "cluster"),
        (ALLOCATIONS, {"updated_since": "2026-13-01"}, "updated_since"),
    ],
)
def test_bad_filter_values_are_400_naming_the_filter(viewer, path, query, field):
    response = client_for(viewer).get(path, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_unknown_ids_are_404(viewer):
    client = client_for(viewer)
    assert client.get(url("funding-allocation-detail", 424242)).status_code == 404
    assert client.get(url("investment-request-detail", 424242)).status_code == 404
    assert client.get(f"{ALLOCATIONS}99999999999999999999/").status_code == 404


# --- Query counts --------------------------------------------------------------------------------


def _portfolio_of(size: int, leader) -> None:
    for i in range(size):
        person = PersonFactory(user=UserFactory(username=f"owner{i}"))
        product = ProductFactory(owner=person)
        services.allocation_set(
            actor=leader, unit=product.unit, fiscal_year=YEAR,
            operations_amount="10", improvement_amount="1000",
        )  # fmt: skip
        for amount in ("100", "20000"):
            waiting(person.user, product, amount)


@pytest.mark.parametrize("size", [2, 7])
@pytest.mark.parametrize(("path", "per_unit"), [(ALLOCATIONS, 1), (REQUESTS, 2)])
def test_list_query_count_is_flat(size, path, per_unit, leader, viewer, django_assert_num_queries):
    _portfolio_of(size, leader)
    PortfolioSettings.load()
    client = client_for(viewer)

    with django_assert_num_queries(3):  # the count, the page and the currency
        response = client.get(path, {"page_size": 100})

    assert response.json()["count"] == size * per_unit
