"""Input and output adapters of the funding API.

Money is never a JSON float: amounts go out as strings with exactly two decimals ("1250.50")
and come in as strings or whole JSON numbers, parsed by `services.parse_money` (a JSON number
with a fraction, e.g. 12.5, is refused: it may already have lost cents on the way).

Bodies come from values() rows (`*_rows`), with the committed and waiting sums of an
allocation in correlated subqueries, so a list costs the same queries at any page size; each
body's fields are declared once (`ALLOCATION`, `INVESTMENT_REQUEST`, see portfolio/api/rows.py),
which makes both the rows' JSON and the schema serializer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from funding.models import (
    MONEY,
    ZERO,
    FundingAllocation,
    FundingMode,
    InvestmentRequest,
    RequestStatus,
)
from funding.services import parse_money
from metrics.models import Metric
from portfolio.api.rows import (
    Column,
    Contextual,
    Output,
    formatter,
    iso_datetime,
    version_column,
)
from portfolio.api.serializers import NamedChoiceField
from portfolio.errors import ValidationFailed
from portfolio.exports import DECIMAL, Listing
from portfolio.models import PortfolioSettings
from portfolio.validation import parse_id
from products.api.serializers import ProductRefField
from products.models import OwnershipUnit

MAX_TEXT = 10_000
MONEY_PATTERN = r"^-?[0-9]{1,12}\.[0-9]{2}$"
UNIT_NAME = Coalesce("unit__cluster__name", "unit__product__name")


@formatter
def money(value: Decimal | None) -> str:
    """Two decimals, never an exponent: Decimal("0E-2") is "0.00"."""
    return f"{(value if value is not None else ZERO):.2f}"


# --- Fields --------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": MONEY_PATTERN,
        "example": "1250.50",
        "description": "An exact amount as a string with two decimals (never a JSON float).",
    }
)
class MoneyOutField(serializers.CharField):
    """Documents a money string of the output bodies; an export writes it as a number."""

    export_kind = DECIMAL


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "example": "1250.50"},
            {"type": "integer", "minimum": 0, "maximum": 999_999_999_999},
        ],
        "description": (
            'A string with at most two decimals ("1250.50") or a whole JSON number (1250). '
            "JSON numbers with a fraction (12.5) are refused: send them as strings."
        ),
    }
)
class MoneyField(serializers.Field):
    """An exact amount through `parse_money`: its messages, under this field's name."""

    def __init__(self, *, allow_zero: bool = True, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return parse_money(data, self.field_name or "amount", allow_zero=self.allow_zero)
        except ValidationFailed as exc:
            raise serializers.ValidationError(next(iter(exc.errors.values()))) from None

    def to_representation(self, value: Decimal) -> str:
        return money(value)


class _RefField(serializers.Field):
    """An object by id; an id past bigint or of nothing is a 400 naming the field, not a 404."""

    default_error_messages = {"invalid": "Give an id (a whole number)."}

    def as_id(self, data: Any) -> int:
        number = parse_id(data)
        if number is None:
            self.fail("invalid")
        return number

    def to_representation(self, value) -> int:
        return value.pk


@extend_schema_field({"type": "integer", "minimum": 1, "description": "Ownership unit (id)."})
class UnitRefField(_RefField):
    default_error_messages = {
        **_RefField.default_error_messages,
        "unknown": "No ownership unit with id {ref}.",
        "dormant": (
            "Unit {ref} is dormant: its product runs in a cluster now; fund the cluster's unit."
        ),
    }

    def to_internal_value(self, data: Any) -> OwnershipUnit:
        ref = self.as_id(data)
        unit = OwnershipUnit.objects.select_related("owner").filter(pk=ref).first()
        if unit is None:
            self.fail("unknown", ref=ref)
        if not unit.is_active:
            self.fail("dormant", ref=ref)
        return unit


@extend_schema_field(
    {"type": "integer", "minimum": 1, "description": "Metric (id) the money should move."}
)
class MetricRefField(_RefField):
    default_error_messages = {
        **_RefField.default_error_messages,
        "unknown": "No metric with id {ref}.",
    }

    def to_internal_value(self, data: Any) -> Metric:
        ref = self.as_id(data)
        metric = Metric.objects.select_related("product").filter(pk=ref).first()
        if metric is None:
            self.fail("unknown", ref=ref)
        return metric


class FundingModeField(NamedChoiceField):
    enum_name = "FundingModeEnum"
    enum_choices = FundingMode.choices
    enum_help = (
        "`capacity`: a yearly capacity the owner spends; `project`: money project by project; "
        "`reactive`: only when something breaks."
    )


class RequestStatusField(NamedChoiceField):
    enum_name = "InvestmentRequestStatusEnum"
    enum_choices = RequestStatus.choices
    enum_help = (
        "`draft`: not sent yet; `submitted`: waiting for a leader; `approved` (by the rules or "
        "a leader); `rejected`; `withdrawn`."
    )


def fiscal_year_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=2000, max_value=2100, **kwargs)


# --- Allocations ---------------------------------------------------------------------------------

ALLOCATION_ORDER = ("-fiscal_year", "unit_name", "id")
CURRENCY = Contextual(
    "currency",
    serializers.CharField(help_text="The organisation's one currency (ISO 4217)."),
    lambda row, context: context["currency"],
)

ALLOCATION = Output(
    "AllocationSerializer",
    Column("id", serializers.IntegerField()),
    Column("unit", serializers.IntegerField(help_text="Ownership unit (id)."), "unit_id"),
    Column("unit_name", serializers.CharField(help_text="The cluster's or the product's name.")),
    Column("fiscal_year", serializers.IntegerField(help_text="The calendar year.")),
    Column(
        "operations_amount", MoneyOutField(help_text="To run the unit this year."), convert=money
    ),
    Column(
        "improvement_amount",
        MoneyOutField(help_text="To improve the unit this year (the capacity)."),
        convert=money,
    ),
    Column("mode", FundingModeField()),
    Column("note", serializers.CharField()),
    Column(
        "committed",
        MoneyOutField(help_text="Approved investment requests of the unit and year."),
        convert=money,
    ),
    Column(
        "waiting",
        MoneyOutField(help_text="Requests of the unit and year waiting for a leader."),
        convert=money,
    ),
    Column(
        "remaining",
        MoneyOutField(
            help_text=(
                "improvement_amount minus committed: what the rules may still approve. Negative "
                "when leaders approved more than the capacity."
            )
        ),
        convert=money,
    ),
    CURRENCY,
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
    version_column(),
)
AllocationSerializer = ALLOCATION.serializer


def _sum_of(status: str) -> Coalesce:
    """The amounts of the allocation's unit and year in one status (a correlated SUM)."""
    rows = (
        InvestmentRequest.objects.filter(
            unit_id=OuterRef("unit_id"), fiscal_year=OuterRef("fiscal_year"), status=status
        )
        .order_by()
        .values("unit_id")
        .annotate(s=Sum("amount"))
        .values("s")[:1]
    )
    out: DecimalField = DecimalField(**MONEY)
    return Coalesce(Subquery(rows, output_field=out), Value(ZERO), output_field=out)


def allocation_rows(queryset: QuerySet[FundingAllocation]) -> QuerySet:
    return (
        queryset.annotate(
            unit_name=UNIT_NAME,
            committed=_sum_of(RequestStatus.APPROVED),
            waiting=_sum_of(RequestStatus.SUBMITTED),
        )
        .annotate(remaining=F("improvement_amount") - F("committed"))
        .values(*ALLOCATION.columns)
    )


class AllocationInputSerializer(serializers.Serializer):
    """POST: sets the allocation of a unit for a year, creating or replacing it."""

    unit = UnitRefField(help_text="Ownership unit (id); a current one, not a dormant one.")
    fiscal_year = fiscal_year_field(help_text="The calendar year, 2000 to 2100.")
    operations_amount = MoneyField()
    improvement_amount = MoneyField()
    mode = FundingModeField(required=False, help_text="Default: `capacity`.")
    note = serializers.CharField(allow_blank=True, required=False, max_length=MAX_TEXT)


class AllocationUpdateSerializer(serializers.Serializer):
    """PUT (both amounts required) or PATCH; the unit and the year stay as they are."""

    operations_amount = MoneyField()
    improvement_amount = MoneyField()
    mode = FundingModeField(required=False, help_text="Left out: kept.")
    note = serializers.CharField(
        allow_blank=True, required=False, max_length=MAX_TEXT, help_text="Left out: kept."
    )


# --- Investment requests -------------------------------------------------------------------------

REQUEST_ORDER = ("-created_at", "-id")

INVESTMENT_REQUEST = Output(
    "InvestmentRequestSerializer",
    Column("id", serializers.IntegerField()),
    Column(
        "unit", serializers.IntegerField(help_text="Ownership unit (id) of the product."), "unit_id"
    ),
    Column("unit_name", serializers.CharField()),
    Column(
        "product",
        serializers.CharField(help_text="Component product (slug) the money is for."),
        "product__slug",
    ),
    Column("fiscal_year", serializers.IntegerField()),
    Column("amount", MoneyOutField(), convert=money),
    CURRENCY,
    Column("purpose", serializers.CharField()),
    Column(
        "metric",
        serializers.IntegerField(
            allow_null=True, help_text="Metric (id) the investment should move."
        ),
        "metric_id",
    ),
    Column("expected_effect", serializers.CharField(help_text="How the metric should move.")),
    Column("status", RequestStatusField()),
    Column(
        "auto_approved",
        serializers.BooleanField(
            help_text="Approved by the rules: within the threshold and the remaining capacity."
        ),
    ),
    Column(
        "requested_by",
        serializers.CharField(allow_null=True, help_text="Username."),
        "requested_by__username",
    ),
    Column("submitted_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column("decided_at", serializers.DateTimeField(allow_null=True), convert=iso_datetime),
    Column(
        "decided_by",
        serializers.CharField(
            allow_null=True, help_text="Username of who approved, rejected or withdrew it."
        ),
        "decided_by__username",
    ),
    Column(
        "decision_reason",
        serializers.CharField(
            help_text="Why: the rules' reason, the leader's, or why it waits for a leader."
        ),
    ),
    Column("version", serializers.IntegerField(help_text="Goes up with every change of status.")),
    Column("created_at", serializers.DateTimeField(), convert=iso_datetime),
    Column("updated_at", serializers.DateTimeField(), convert=iso_datetime),
)
InvestmentRequestSerializer = INVESTMENT_REQUEST.serializer


def request_rows(queryset: QuerySet[InvestmentRequest]) -> QuerySet:
    return queryset.annotate(unit_name=UNIT_NAME).values(*INVESTMENT_REQUEST.columns)


def _currency() -> dict[str, Any]:
    return {"currency": PortfolioSettings.load().currency}


ALLOCATION_EXPORT = Listing.of_output(
    "funding-allocations", ALLOCATION, rows=allocation_rows, context=_currency
)
REQUEST_EXPORT = Listing.of_output(
    "investment-requests", INVESTMENT_REQUEST, rows=request_rows, context=_currency
)


class InvestmentRequestInputSerializer(serializers.Serializer):
    product = ProductRefField(
        help_text="Component product (id or slug); the request goes to its ownership unit."
    )
    amount = MoneyField(allow_zero=False)
    purpose = serializers.CharField(max_length=MAX_TEXT, help_text="What the money is for.")
    metric = MetricRefField(
        required=False, allow_null=True, help_text="Metric (id) of the unit's products."
    )
    expected_effect = serializers.CharField(
        allow_blank=True, required=False, max_length=MAX_TEXT, help_text="How it should move."
    )
    fiscal_year = fiscal_year_field(required=False, help_text="Default: the current year.")
    submit = serializers.BooleanField(
        default=True,
        help_text="true (default): submit at once, so the rules decide; false: keep a draft.",
    )


class RequestDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True,
        required=False,
        max_length=MAX_TEXT,
        help_text="Required: why (the owner reads it).",
    )
