"""Filtersets of the funding API: allocations and investment requests.

Ids and slugs are checked before they reach the query (a value past bigint would fail in
PostgreSQL), years and amounts are bounded, choices strict: a bad value answers 400 naming the
filter instead of being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms

from funding.models import MONEY, FundingAllocation, FundingMode, InvestmentRequest, RequestStatus
from portfolio.filters import IdFilter, IntegerFilter, RefFilter, UpdatedSinceFilterSet


def unit_filter() -> IdFilter:
    return IdFilter(field_name="unit_id", label="Ownership unit (id)")


def cluster_filter() -> RefFilter:
    return RefFilter(field_name="unit__cluster", label="Cluster (id or slug) of the unit")


def fiscal_year_filter() -> IntegerFilter:
    return IntegerFilter(
        field_name="fiscal_year", label="Fiscal year (2000-2100)", min_value=2000, max_value=2100
    )


class AllocationFilterSet(UpdatedSinceFilterSet):
    unit = unit_filter()
    fiscal_year = fiscal_year_filter()
    mode = django_filters.MultipleChoiceFilter(
        choices=FundingMode.choices, label="Funding mode (repeat for several)", distinct=False
    )
    cluster = cluster_filter()

    class Meta:
        model = FundingAllocation
        fields = ["unit", "fiscal_year", "mode", "cluster", "updated_since"]


class AmountRangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", "Must not be below `min_amount`.")
        return data


def amount_filter(lookup: str, label: str) -> django_filters.NumberFilter:
    # forms.DecimalField: "abc", "NaN" and "1e999" are invalid; the digits bound the size.
    return django_filters.NumberFilter(
        field_name="amount", lookup_expr=lookup, label=label, min_value=0, **MONEY
    )


class InvestmentRequestFilterSet(UpdatedSinceFilterSet):
    # A column of the row itself: no join that could repeat a row, so no DISTINCT (which made
    # PostgreSQL build every matching row, its capacity subqueries included, before the LIMIT).
    status = django_filters.MultipleChoiceFilter(
        choices=RequestStatus.choices, label="Status (repeat for several)", distinct=False
    )
    unit = unit_filter()
    product = RefFilter(field_name="product", label="Product (id or slug)")
    fiscal_year = fiscal_year_filter()
    cluster = cluster_filter()
    min_amount = amount_filter("gte", 'Amount at least (e.g. "10000.00")')
    max_amount = amount_filter("lte", 'Amount at most (e.g. "10000.00")')

    class Meta:
        model = InvestmentRequest
        fields = [
            "status",
            "unit",
            "product",
            "fiscal_year",
            "cluster",
            "min_amount",
            "max_amount",
            "updated_since",
        ]
        form = AmountRangeForm
