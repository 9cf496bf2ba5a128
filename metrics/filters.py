"""Filtersets of metrics, readings and the status per product, for the pages and the API.

Ids and slugs are checked before they reach the query (portfolio.filters.IdFilter and
RefFilter); times are ISO 8601, turned into UTC; a bad value answers 400 naming the filter.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from metrics.models import SEVERITY, Level, Metric, Reading, Status
from portfolio.filters import (
    IdFilter,
    RefFilter,
    UpdatedSinceFilter,
    UpdatedSinceFilterSet,
    by_ref,
)
from products.models import Dimension, Product

NO_METRICS = "none"
STATUS_CHOICES = Status.choices
ROLLUP_CHOICES = [*Status.choices, (NO_METRICS, "No metrics defined")]


class MetricFilterSet(UpdatedSinceFilterSet):
    """Filters of /api/v1/metrics/ and the metrics page.

    The queryset must carry `severity` (selectors.with_status).
    """

    product = RefFilter(field_name="product", label="Product (id or slug)")
    unit = IdFilter(
        field_name="product__unit_id",
        label="Ownership unit (id) the product is run in; not the measurement unit",
    )
    dimension = django_filters.ChoiceFilter(choices=Dimension.choices, label="Dimension")
    level = django_filters.ChoiceFilter(choices=Level.choices, label="Level")
    status = django_filters.MultipleChoiceFilter(
        choices=STATUS_CHOICES,
        method="filter_status",
        label="Status now (repeat for several)",
    )

    class Meta:
        model = Metric
        fields = ["product", "unit", "dimension", "level", "status", "updated_since"]

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(severity__in=[SEVERITY[Status(s)] for s in value])


class ReadingRangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start is not None and end is not None and start >= end:
            self.add_error("to", "Must be later than `from`.")
        return data


class ReadingFilterSet(UpdatedSinceFilterSet):
    """Filters of /api/v1/metric-readings/; `from` and `to` are added below (Python keywords)."""

    metric = IdFilter(field_name="metric_id", label="Metric (id)")
    product = RefFilter(field_name="metric__product", label="Product (id or slug)")
    source = django_filters.CharFilter(field_name="source", label="Source (exact)")

    class Meta:
        model = Reading
        fields = ["metric", "product", "source", "updated_since"]
        form = ReadingRangeForm


ReadingFilterSet.base_filters["from"] = UpdatedSinceFilter(
    field_name="taken_at",
    lookup_expr="gte",
    label="Taken at or after (ISO 8601, inclusive)",
)
ReadingFilterSet.base_filters["to"] = UpdatedSinceFilter(
    field_name="taken_at",
    lookup_expr="lt",
    label="Taken before (ISO 8601, exclusive)",
)


class MetricStatusFilterSet(django_filters.FilterSet):
    """Filters of /api/v1/metric-status/. The queryset must carry `health` (the roll-up)."""

    product = RefFilter(method="filter_product", label="Product (id or slug)")
    unit = IdFilter(field_name="unit_id", label="Ownership unit (id)")
    status = django_filters.MultipleChoiceFilter(
        choices=ROLLUP_CHOICES,
        method="filter_status",
        label="Roll-up status (repeat for several; `none`: no metric defined)",
    )

    class Meta:
        model = Product
        fields = ["product", "unit", "status"]

    def filter_product(self, queryset, name, value):
        return by_ref(queryset, value)

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        ranks = [SEVERITY[Status(s)] for s in value if s != NO_METRICS]
        condition = Q(health__in=ranks)
        if NO_METRICS in value:
            condition |= Q(health__isnull=True)
        return queryset.filter(condition)
