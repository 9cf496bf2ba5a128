"""Funding: a capacity allocation per ownership unit per fiscal year, and investment requests
decided against the governance threshold and the unit's remaining improvement capacity.

Money is `Decimal` end to end (numeric(14, 2) in the database); the organisation has one
currency (PortfolioSettings.currency). The fiscal year is the calendar year.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self, TypedDict, TypeVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from portfolio.permissions import AnyUser
from portfolio.versioning import Versioned


class _MoneyDigits(TypedDict):
    max_digits: int
    decimal_places: int


# The digits of every amount: model columns, filters, serializer and expression fields take
# `**MONEY`.
MONEY: _MoneyDigits = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class FundingMode(models.TextChoices):
    CAPACITY = "capacity", "Capacity-based"
    PROJECT = "project", "Project-by-project"
    REACTIVE = "reactive", "Reactive"


_FundingAllocationT = TypeVar("_FundingAllocationT", bound="FundingAllocation")


class AllocationQuerySet(models.QuerySet[_FundingAllocationT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()


class FundingAllocation(Versioned):
    """What a unit may spend in a fiscal year: on running it, and on improving it."""

    unit = models.ForeignKey(
        "products.OwnershipUnit", on_delete=models.CASCADE, related_name="allocations"
    )
    fiscal_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    operations_amount = models.DecimalField(
        **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    improvement_amount = models.DecimalField(
        **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    mode = models.CharField(
        max_length=10, choices=FundingMode.choices, default=FundingMode.CAPACITY
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["-fiscal_year", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "fiscal_year"], name="allocation_once_a_year"),
            models.CheckConstraint(
                condition=Q(operations_amount__gte=0) & Q(improvement_amount__gte=0),
                name="allocation_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} FY{self.fiscal_year}"

    @property
    def total(self) -> Decimal:
        return self.operations_amount + self.improvement_amount


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Waiting for a leader"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


COMMITTED = (RequestStatus.APPROVED,)


_InvestmentRequestT = TypeVar("_InvestmentRequestT", bound="InvestmentRequest")


class InvestmentRequestQuerySet(models.QuerySet[_InvestmentRequestT]):
    def visible_to(self, user: AnyUser) -> Self:
        return self if user.is_authenticated else self.none()

    def awaiting_leader(self) -> Self:
        return self.filter(status=RequestStatus.SUBMITTED)


class InvestmentRequest(Versioned):
    """Money asked for to improve a unit, for what, and which metric should move."""

    unit = models.ForeignKey(
        "products.OwnershipUnit", on_delete=models.CASCADE, related_name="investment_requests"
    )
    product = models.ForeignKey(
        "products.Product",
        on_delete=models.CASCADE,
        related_name="investment_requests",
        help_text="The component the money is for.",
    )
    fiscal_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    purpose = models.TextField()
    metric = models.ForeignKey(
        "metrics.Metric",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="investment_requests",
        help_text="The metric the investment should move.",
    )
    expected_effect = models.TextField(blank=True, help_text="How the metric should move.")
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    auto_approved = models.BooleanField(
        default=False, help_text="Approved by the rules: within the threshold and the capacity."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = InvestmentRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="request_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["unit", "fiscal_year", "status"], name="request_unit_year"),
            models.Index(fields=["status", "submitted_at"], name="request_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} for {self.product_id} ({self.status})"
