"""Writes on funding: allocations (leaders) and investment requests (owners ask, the rules or a
leader decide). Every decision records who, when and why.

The rule: a request at or below the governance threshold (PortfolioSettings) that fits in the
unit's remaining improvement capacity for its fiscal year is approved when it is submitted.
Anything above the threshold, or beyond the capacity, waits in the leaders' approval queue.
Remaining capacity = the improvement allocation minus the approved requests of that year.
Submissions on one unit queue up on a row lock, so two requests can never both take the same
remaining money. Nobody decides a request they asked for or one for a unit they own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from funding.models import (
    MONEY,
    ZERO,
    FundingAllocation,
    FundingMode,
    InvestmentRequest,
    RequestStatus,
)
from metrics.models import Metric
from portfolio import events
from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from portfolio.models import PortfolioSettings
from portfolio.permissions import AnyUser, is_leader, require_leader
from portfolio.text import money
from portfolio.versioning import check_version
from products.models import OwnershipUnit, Product, Stage
from products.permissions import can_edit_unit, require_unit_editor

MAX_AMOUNT = Decimal(10 ** (MONEY["max_digits"] - MONEY["decimal_places"])) - Decimal("0.01")


def current_fiscal_year() -> int:
    return timezone.localdate().year


def parse_money(value: Any, field: str, *, allow_zero: bool = True) -> Decimal:
    """An exact amount with at most two decimals, from a Decimal, int or string (never float)."""
    if isinstance(value, bool | float):
        raise ValidationFailed(
            {field: ['Send the amount as a string or a whole number, e.g. "1250.50".']}
        )
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationFailed({field: ["Not an amount; e.g. 1250.50."]}) from None
    if not amount.is_finite():
        raise ValidationFailed({field: ["Not an amount; e.g. 1250.50."]})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed({field: ["Must be more than zero." if not allow_zero else
                                        "Must not be negative."]})  # fmt: skip
    # Size before decimals: quantizing 1e40 overflows the decimal context (InvalidOperation).
    if amount > MAX_AMOUNT:
        raise ValidationFailed({field: [f"At most {MAX_AMOUNT:,}."]})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed({field: ["At most two decimals."]})
    return amount.quantize(Decimal("0.01"))


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed({"fiscal_year": ["A year between 2000 and 2100."]})
    return year


# --- Capacity ------------------------------------------------------------------------------------


@dataclass
class Capacity:
    fiscal_year: int
    mode: str | None
    operations: Decimal
    improvement: Decimal
    committed: Decimal
    waiting: Decimal
    # The stored allocation (None before one is set): its version goes into the edit form.
    allocation: FundingAllocation | None = None

    @property
    def remaining(self) -> Decimal:
        return self.improvement - self.committed

    @property
    def allocated(self) -> Decimal:
        return self.operations + self.improvement


def capacity(unit: OwnershipUnit, fiscal_year: int | None = None) -> Capacity:
    year = fiscal_year or current_fiscal_year()
    allocation = FundingAllocation.objects.filter(unit=unit, fiscal_year=year).first()
    sums = InvestmentRequest.objects.filter(unit=unit, fiscal_year=year).aggregate(
        committed=Sum("amount", filter=Q(status=RequestStatus.APPROVED)),
        waiting=Sum("amount", filter=Q(status=RequestStatus.SUBMITTED)),
    )
    return Capacity(
        fiscal_year=year,
        mode=allocation.mode if allocation else None,
        operations=allocation.operations_amount if allocation else ZERO,
        improvement=allocation.improvement_amount if allocation else ZERO,
        committed=sums["committed"] or ZERO,
        waiting=sums["waiting"] or ZERO,
        allocation=allocation,
    )


# --- Allocations ---------------------------------------------------------------------------------


@transaction.atomic
def allocation_set(
    *,
    actor: AnyUser,
    unit: OwnershipUnit,
    fiscal_year: int,
    operations_amount: Any,
    improvement_amount: Any,
    mode: str = FundingMode.CAPACITY,
    note: str = "",
    version: int | None = None,
) -> FundingAllocation:
    """Set a unit's allocation for a year (leaders), creating or replacing it. With
    `version`, refuse to replace an allocation that changed since that version."""
    require_leader(actor, "set funding allocations")
    year = _check_year(fiscal_year)
    errors: dict[str, list[str]] = {}
    amounts = {}
    for name, value in (
        ("operations_amount", operations_amount),
        ("improvement_amount", improvement_amount),
    ):
        try:
            amounts[name] = parse_money(value, name)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if mode not in FundingMode.values:
        errors["mode"] = [f"Choose one of: {', '.join(FundingMode.values)}."]
    if errors:
        raise ValidationFailed(errors)
    OwnershipUnit.objects.select_for_update().get(pk=unit.pk)
    committed = (
        InvestmentRequest.objects.filter(
            unit=unit, fiscal_year=year, status=RequestStatus.APPROVED
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    if amounts["improvement_amount"] < committed:
        raise RuleViolation(
            f"{committed} is already committed to approved requests in {year}; the improvement "
            "amount cannot go below it.",
            field="improvement_amount",
            rule="below_committed",
        )
    values = {**amounts, "mode": mode, "note": note or ""}
    # Under the unit's lock no other write reaches this allocation: read, compare, save.
    allocation = FundingAllocation.objects.filter(unit=unit, fiscal_year=year).first()
    if allocation is None:
        allocation = FundingAllocation.objects.create(unit=unit, fiscal_year=year, **values)
        events.record("funding_allocation.set", allocation, actor=actor)
        return allocation
    check_version(allocation, version, name=f"The {year} allocation of {unit.name}")
    before = events.values_of(allocation)
    for name, value in values.items():
        setattr(allocation, name, value)
    allocation.save()
    changed = events.diff(before, events.values_of(allocation))
    if changed:
        events.record("funding_allocation.set", allocation, actor=actor, changed=changed)
    return allocation


# --- Investment requests -------------------------------------------------------------------------


@transaction.atomic
def request_create(
    *,
    actor: AnyUser,
    product: Product,
    amount: Any,
    purpose: str,
    metric: Metric | None = None,
    expected_effect: str = "",
    fiscal_year: int | None = None,
    submit: bool = False,
) -> InvestmentRequest:
    """Ask for money for a component of a unit (the unit's owner or a leader)."""
    product = Product.objects.select_related("unit__owner").get(pk=product.pk)
    unit = product.unit
    assert unit is not None  # a product's unit is NULL only inside product_create
    actor = require_unit_editor(actor, unit, f"ask for investment in {unit.name}")
    errors: dict[str, list[str]] = {}
    try:
        money = parse_money(amount, "amount", allow_zero=False)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not (purpose or "").strip():
        errors["purpose"] = ["Say what the money is for."]
    year = fiscal_year or current_fiscal_year()
    try:
        _check_year(year)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if product.lifecycle_stage == Stage.RETIRED:
        errors["product"] = [f"{product.name} is retired."]
    if metric is not None and metric.product_id != product.pk:
        errors["metric"] = [f"Pick a metric of {product.name}, the component asked for."]
    if errors:
        raise ValidationFailed(errors)
    request = InvestmentRequest.objects.create(
        unit=unit,
        product=product,
        fiscal_year=year,
        amount=money,
        purpose=purpose.strip(),
        metric=metric,
        expected_effect=(expected_effect or "").strip(),
        requested_by=actor,
    )
    events.record("investment_request.created", request, actor=actor)
    if submit:
        request = request_submit(actor=actor, request=request)
    return request


def _locked(request: InvestmentRequest, version: int | None = None) -> InvestmentRequest:
    """The request, locked; refused (412) if it moved past `version` since the caller read it."""
    locked = (
        InvestmentRequest.objects.select_for_update(of=("self",))
        .select_related("unit__owner", "product")
        .get(pk=request.pk)
    )
    check_version(locked, version, name=f"Investment request #{locked.pk}")
    return locked


@transaction.atomic
def request_submit(
    *, actor: AnyUser, request: InvestmentRequest, version: int | None = None
) -> InvestmentRequest:
    """Send a draft on: approved by the rules when it may be, else into the leaders' queue."""
    # The unit's row lock first: concurrent submissions on one unit take turns.
    OwnershipUnit.objects.select_for_update().get(pk=request.unit_id)
    request = _locked(request, version)
    actor = require_unit_editor(actor, request.unit, "submit investment requests")
    if request.status != RequestStatus.DRAFT:
        raise RuleViolation(
            f"Only a draft can be submitted; this request is {request.get_status_display()}.",
            rule="request_not_draft",
        )
    settings = PortfolioSettings.load()
    room = capacity(request.unit, request.fiscal_year)
    now = timezone.now()
    request.submitted_at = now
    within_threshold = request.amount <= settings.governance_threshold
    within_capacity = request.amount <= room.remaining
    if within_threshold and within_capacity:
        request.status = RequestStatus.APPROVED
        request.auto_approved = True
        request.decided_at = now
        request.decided_by = actor
        request.decision_reason = (
            f"Approved on submission: at or below the governance threshold of "
            f"{money(settings.governance_threshold)} {settings.currency} and within the "
            f"{money(room.remaining)} {settings.currency} of improvement capacity left for "
            f"{request.fiscal_year}."
        )
    else:
        request.status = RequestStatus.SUBMITTED
        why = []
        if not within_threshold:
            why.append(
                f"above the governance threshold of {money(settings.governance_threshold)} "
                f"{settings.currency}"
            )
        if not within_capacity:
            why.append(
                f"beyond the {money(room.remaining)} {settings.currency} of improvement "
                f"capacity left for {request.fiscal_year}"
            )
        request.decision_reason = "Waiting for a leader: " + " and ".join(why) + "."
    request.save()
    # Approved on submission is a decision too: one event, "decided".
    kind = "investment_request.decided" if request.auto_approved else "investment_request.submitted"
    events.record(
        kind, request, actor=actor, changed={"status": [RequestStatus.DRAFT, request.status]}
    )
    return request


def _refuse_self(actor: AnyUser, request: InvestmentRequest) -> None:
    owns = request.unit.owner is not None and request.unit.owner.user_id == actor.pk
    if request.requested_by_id == actor.pk or owns:
        raise Forbidden(
            "Nobody decides a request they asked for or one for a unit they own; another "
            "leader must.",
            rule="no_self_approval",
        )


def _decide(
    *,
    actor: AnyUser,
    request: InvestmentRequest,
    status: str,
    reason: str,
    verb: str,
    version: int | None,
) -> InvestmentRequest:
    actor = require_leader(actor, f"{verb} investment requests")
    request = _locked(request, version)
    _refuse_self(actor, request)
    if request.status != RequestStatus.SUBMITTED:
        raise RuleViolation(
            f"Only a request waiting for a leader can be {verb}d; this one is "
            f"{request.get_status_display().lower()}.",
            rule="request_not_waiting",
        )
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [f"Say why you {verb} it; the owner reads it."]})
    request.status = status
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.decision_reason = reason.strip()
    request.save()
    events.record(
        "investment_request.decided",
        request,
        actor=actor,
        changed={"status": [RequestStatus.SUBMITTED, status]},
    )
    return request


@transaction.atomic
def request_approve(
    *, actor: AnyUser, request: InvestmentRequest, reason: str, version: int | None = None
) -> InvestmentRequest:
    return _decide(
        actor=actor,
        request=request,
        status=RequestStatus.APPROVED,
        reason=reason,
        verb="approve",
        version=version,
    )


@transaction.atomic
def request_reject(
    *, actor: AnyUser, request: InvestmentRequest, reason: str, version: int | None = None
) -> InvestmentRequest:
    return _decide(
        actor=actor,
        request=request,
        status=RequestStatus.REJECTED,
        reason=reason,
        verb="reject",
        version=version,
    )


@transaction.atomic
def request_withdraw(
    *, actor: AnyUser, request: InvestmentRequest, version: int | None = None
) -> InvestmentRequest:
    request = _locked(request, version)
    # Anonymous is refused outright: its pk (None) would match a request whose requester is gone.
    if not actor.is_authenticated or not (
        request.requested_by_id == actor.pk or can_edit_unit(actor, request.unit)
    ):
        raise Forbidden("Only the requester, the unit's owner or a leader can withdraw it.",
                        rule="unit_owner_or_leader")  # fmt: skip
    if request.status not in (RequestStatus.DRAFT, RequestStatus.SUBMITTED):
        raise RuleViolation(
            f"A request that is {request.get_status_display().lower()} cannot be withdrawn.",
            rule="request_decided",
        )
    was = request.status
    request.status = RequestStatus.WITHDRAWN
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.decision_reason = "Withdrawn."
    request.save()
    events.record(
        "investment_request.withdrawn",
        request,
        actor=actor,
        changed={"status": [was, RequestStatus.WITHDRAWN]},
    )
    return request


def may_decide(user: AnyUser, request: InvestmentRequest) -> bool:
    if not is_leader(user):
        return False
    try:
        _refuse_self(user, request)
    except Forbidden:
        return False
    return True
