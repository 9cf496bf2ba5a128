"""Funding rules at their boundaries: the governance threshold, the remaining capacity, who may
decide, exact money, and bad input."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from funding import services
from funding.models import FundingAllocation, InvestmentRequest
from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from portfolio.models import PortfolioSettings
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

YEAR = 2026


@pytest.fixture
def funded(leader, product):
    """Payroll: 40,000.00 to improve it in 2026; the threshold is 10,000.00."""
    settings = PortfolioSettings.load()
    settings.governance_threshold = Decimal("10000.00")
    settings.save()
    services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=YEAR,
        operations_amount="60000", improvement_amount="40000.00", mode="capacity",
    )  # fmt: skip
    return product


def ask(actor, product, amount, **kw):
    return services.request_create(
        actor=actor, product=product, amount=amount, purpose="Faster payslips",
        fiscal_year=YEAR, submit=True, **kw,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "status", "auto"),
    [
        ("9999.99", "approved", True),
        ("10000.00", "approved", True),  # at the threshold: the rules approve it
        ("10000.01", "submitted", False),  # above: a leader decides
    ],
)
def test_the_governance_threshold(owner, funded, amount, status, auto):
    request = ask(owner, funded, amount)
    assert (request.status, request.auto_approved) == (status, auto)
    assert request.decision_reason
    if auto:
        assert request.decided_by == owner and request.decided_at is not None
    else:
        assert "above the governance threshold of 10,000.00 EUR" in request.decision_reason


def test_the_remaining_capacity(owner, funded):
    for _ in range(3):
        assert ask(owner, funded, "10000.00").status == "approved"
    room = services.capacity(funded.unit, YEAR)
    assert (room.committed, room.remaining) == (Decimal("30000.00"), Decimal("10000.00"))
    beyond = ask(owner, funded, "10000.01")  # also above the threshold
    fits_exactly = ask(owner, funded, "10000.00")
    assert fits_exactly.status == "approved"
    one_cent_over = ask(owner, funded, "0.01")
    assert one_cent_over.status == "submitted"
    assert "beyond the 0.00 EUR of improvement capacity left for 2026" in (
        one_cent_over.decision_reason
    )
    assert beyond.status == "submitted"
    room = services.capacity(funded.unit, YEAR)
    assert (room.remaining, room.waiting) == (Decimal("0.00"), Decimal("10000.02"))


def test_no_allocation_means_no_capacity(owner, product):
    assert ask(owner, product, "1.00").status == "submitted"


def test_money_is_exact(owner, funded):
    for amount in ("0.10", "0.20"):
        ask(owner, funded, amount)
    room = services.capacity(funded.unit, YEAR)
    assert room.committed == Decimal("0.30")  # not 0.30000000000000004
    stored = InvestmentRequest.objects.values_list("amount", flat=True)
    assert all(isinstance(a, Decimal) for a in stored)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "Must be more than zero."),
        ("0", "Must be more than zero."),
        ("abc", "Not an amount; e.g. 1250.50."),
        ("NaN", "Not an amount; e.g. 1250.50."),
        ("Infinity", "Not an amount; e.g. 1250.50."),
        ("12.345", "At most two decimals."),
        (12.5, 'Send the amount as a string or a whole number, e.g. "1250.50".'),
        (True, 'Send the amount as a string or a whole number, e.g. "1250.50".'),
        ("1000000000000", "At most 999,999,999,999.99."),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(owner, funded, amount, message):
    with pytest.raises(ValidationFailed) as exc:
        ask(owner, funded, amount)
    assert exc.value.errors == {"amount": [message]}
    assert not InvestmentRequest.objects.exists()


def test_other_bad_input(owner, funded, other_product):
    with pytest.raises(ValidationFailed) as exc:
        services.request_create(
            actor=owner, product=funded, amount="100", purpose=" ", fiscal_year=1999,
            metric=MetricFactory(product=other_product),
        )  # fmt: skip
    assert set(exc.value.errors) == {"purpose", "fiscal_year", "metric"}


def test_who_may_ask(owner, other_owner, viewer, leader, funded):
    for actor in (other_owner, viewer):
        with pytest.raises(Forbidden):
            ask(actor, funded, "100")
    assert ask(leader, funded, "100").status == "approved"


def test_only_another_leader_decides(owner, leader, viewer, funded, owner_person):
    request = ask(owner, funded, "25000.00")
    for actor in (owner, viewer):
        with pytest.raises(Forbidden) as exc:
            services.request_approve(actor=actor, request=request, reason="Fine")
        assert exc.value.rule == "leader_only"
    # A leader who owns the unit may not approve it either ("even their own").
    owner.groups.add(*leader.groups.all())
    owner._is_leader = None
    with pytest.raises(Forbidden) as exc:
        services.request_approve(actor=owner, request=request, reason="Mine")
    assert exc.value.rule == "no_self_approval"
    # Nor a leader who asked for it.
    own_ask = ask(leader, funded, "26000.00")
    with pytest.raises(Forbidden):
        services.request_approve(actor=leader, request=own_ask, reason="Mine")
    request.refresh_from_db()
    assert request.status == "submitted"
    with pytest.raises(ValidationFailed) as exc:
        services.request_approve(actor=leader, request=request, reason=" ")
    assert list(exc.value.errors) == ["reason"]
    approved = services.request_approve(actor=leader, request=request, reason="Worth it")
    assert (approved.status, approved.decided_by, approved.decision_reason) == (
        "approved",
        leader,
        "Worth it",
    )
    with pytest.raises(RuleViolation) as exc:
        services.request_reject(actor=leader, request=request, reason="Changed my mind")
    assert exc.value.rule == "request_not_waiting"


def test_reject_and_withdraw(owner, leader, funded):
    request = ask(owner, funded, "50000.00")
    rejected = services.request_reject(actor=leader, request=request, reason="Not this year")
    assert rejected.status == "rejected"
    draft = services.request_create(
        actor=owner, product=funded, amount="5", purpose="Later", fiscal_year=YEAR
    )
    assert draft.status == "draft"
    assert services.request_withdraw(actor=owner, request=draft).status == "withdrawn"
    with pytest.raises(RuleViolation):
        services.request_withdraw(actor=owner, request=rejected)


def test_allocations_are_for_leaders_and_never_below_what_is_committed(owner, leader, funded):
    with pytest.raises(Forbidden):
        services.allocation_set(
            actor=owner, unit=funded.unit, fiscal_year=YEAR,
            operations_amount="1", improvement_amount="1",
        )  # fmt: skip
    ask(owner, funded, "10000.00")
    with pytest.raises(RuleViolation) as exc:
        services.allocation_set(
            actor=leader, unit=funded.unit, fiscal_year=YEAR,
            operations_amount="1", improvement_amount="9999.99",
        )  # fmt: skip
    assert exc.value.rule == "below_committed"
    with pytest.raises(ValidationFailed) as exc:
        services.allocation_set(
            actor=leader, unit=funded.unit, fiscal_year=YEAR,
            operations_amount="-1", improvement_amount="x", mode="whenever",
        )  # fmt: skip
    assert set(exc.value.errors) == {"operations_amount", "improvement_amount", "mode"}
    allocation = services.allocation_set(
        actor=leader, unit=funded.unit, fiscal_year=YEAR,
        operations_amount="1", improvement_amount="10000.00", mode="reactive",
    )  # fmt: skip
    assert (allocation.improvement_amount, allocation.mode) == (Decimal("10000.00"), "reactive")
    assert FundingAllocation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_submissions_never_share_the_last_capacity():
    leader = UserFactory(username="lead", leader=True)
    person = PersonFactory(user=UserFactory(username="own"))
    product = ProductFactory(owner=person)
    services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=YEAR,
        operations_amount="0", improvement_amount="100.00",
    )  # fmt: skip
    drafts = [
        services.request_create(
            actor=person.user,
            product=product,
            amount="80.00",
            purpose=f"Part {i}",
            fiscal_year=YEAR,
        )  # fmt: skip
        for i in range(2)
    ]
    barrier = threading.Barrier(2)

    def submit(draft):
        try:
            barrier.wait()
            services.request_submit(actor=person.user, request=draft)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(InvestmentRequest.objects.values_list("status", flat=True))
    assert statuses == ["approved", "submitted"]
