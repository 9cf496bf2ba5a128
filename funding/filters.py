"""Filtersets of the funding API: allocations and investment requests.

Ids and slugs are checked before they reach the query (a value past bigint would fail in
PostgreSQL), years and amounts are bounded, choices strict: a bad value answers 400 naming the
filter instead of being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.validators import RegexValidator

from funding.models import MONEY, FundingAllocation, FundingMode, InvestmentRequest, RequestStatus
from portfolio.filters import IntegerFilter, UpdatedSinceFilterSet, by_ref

_ID = RegexValidator(r"^[0-9]{1,18}\Z", "An id (a whole number).")
_ID_OR_SLUG = RegexValidator(r"^([0-9]{1,18}|[-a-zA-Z0-9_]{1,160})\Z", "An id or a slug.")


def unit_filter() -> django_filters.CharFilter:
    return django_filters.CharFilter(
        field_name="unit_id", label="Ownership unit (id)", validators=[_ID]
    )


def cluster_filter() -> django_filters.CharFilter:
    return django_filters.CharFilter(
        method="filter_cluster", label="Cluster (id or slug) of the unit", validators=[_ID_OR_SLUG]
    )


def fiscal_year_filter() -> IntegerFilter:
    return IntegerFilter(
        field_name="fiscal_year", label="Fiscal year (2000-2100)", min_value=2000, max_value=2100
    )


class ClusterFilterMixin:
    def filter_cluster(self, queryset, name, value):
        return by_ref(queryset, value, "unit__cluster")


class AllocationFilterSet(ClusterFilterMixin, UpdatedSinceFilterSet):
    unit = unit_filter()
    fiscal_year = fiscal_year_filter()
    mode = django_filters.MultipleChoiceFilter(
        choices=FundingMode.choices, label="Funding mode (repeat for several)"
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


class InvestmentRequestFilterSet(ClusterFilterMixin, UpdatedSinceFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=RequestStatus.choices, label="Status (repeat for several)"
    )
    unit = unit_filter()
    product = django_filters.CharFilter(
        method="filter_product", label="Product (id or slug)", validators=[_ID_OR_SLUG]
    )
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

    def filter_product(self, queryset, name, value):
        return by_ref(queryset, value, "product")
