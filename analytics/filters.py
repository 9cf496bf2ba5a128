"""Filtersets of the analytics API (owner load, split signals, candidates, readiness, runs).

Ids and slugs are checked before they reach the query (a value past bigint would fail in
PostgreSQL), booleans and numbers are strict: a bad value answers 400 naming the filter
instead of being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.validators import RegexValidator

from analytics.models import (
    Candidate,
    LoadStatus,
    OwnerLoad,
    Readiness,
    SignalKind,
    SignalStatus,
    Snapshot,
    SnapshotStatus,
    SplitSignal,
)
from portfolio.filters import IntegerFilter, StrictBooleanFilter, by_ref

_ID = RegexValidator(r"^[0-9]{1,18}\Z", "An id (a whole number).")
_ID_OR_SLUG = RegexValidator(r"^([0-9]{1,18}|[-a-zA-Z0-9_]{1,160})\Z", "An id or a slug.")


class OwnerLoadFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=LoadStatus.choices, label="Load status (repeat for several)"
    )
    design_problem = StrictBooleanFilter(label="Over the ceiling in enough snapshots in a row")
    person = django_filters.CharFilter(
        field_name="person_id", label="Person (id)", validators=[_ID]
    )

    class Meta:
        model = OwnerLoad
        fields = ["status", "design_problem", "person"]


class SplitSignalFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=SignalStatus.choices,
        label="Status (repeat for several; default: every status)",
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=SignalKind.choices, label="Kind of signal (repeat for several)"
    )
    cluster = django_filters.CharFilter(
        method="filter_cluster", label="Cluster (id or slug)", validators=[_ID_OR_SLUG]
    )
    product = django_filters.CharFilter(
        method="filter_product", label="Product (id or slug)", validators=[_ID_OR_SLUG]
    )

    class Meta:
        model = SplitSignal
        fields = ["status", "kind", "cluster", "product"]

    def filter_cluster(self, queryset, name, value):
        return by_ref(queryset, value, "cluster")

    def filter_product(self, queryset, name, value):
        return by_ref(queryset, value, "product")


class CandidateFilterSet(django_filters.FilterSet):
    top = IntegerFilter(
        method="filter_top",
        label="Only the first N (after the other filters); default: all",
        min_value=1,
        max_value=100000,
    )
    cluster = django_filters.CharFilter(
        method="filter_cluster",
        label="Cluster (id or slug) the product belongs to",
        validators=[_ID_OR_SLUG],
    )

    class Meta:
        model = Candidate
        fields = ["top", "cluster"]

    def filter_top(self, queryset, name, value: int):
        return queryset  # applied last, in filter_queryset: a slice takes no more filters

    def filter_cluster(self, queryset, name, value):
        return by_ref(queryset, value, "unit__cluster")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        top = self.form.cleaned_data.get("top")
        return queryset[:top] if top else queryset


class ScoreRangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        low, high = data.get("min_score"), data.get("max_score")
        if low is not None and high is not None and low > high:
            self.add_error("max_score", "Must not be below `min_score`.")
        return data


class ReadinessFilterSet(django_filters.FilterSet):
    product = django_filters.CharFilter(
        method="filter_product", label="Product (id or slug)", validators=[_ID_OR_SLUG]
    )
    min_score = IntegerFilter(
        field_name="score",
        lookup_expr="gte",
        label="Score at least (0-100)",
        min_value=0,
        max_value=100,
    )
    max_score = IntegerFilter(
        field_name="score",
        lookup_expr="lte",
        label="Score at most (0-100)",
        min_value=0,
        max_value=100,
    )

    class Meta:
        model = Readiness
        fields = ["product", "min_score", "max_score"]
        form = ScoreRangeForm

    def filter_product(self, queryset, name, value):
        return by_ref(queryset, value, "product")


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=SnapshotStatus.choices, label="Run status (repeat for several)"
    )

    class Meta:
        model = Snapshot
        fields = ["status"]
