"""Filtersets of the analytics API (owner load, split signals, candidates, readiness, runs).

Ids and slugs are checked before they reach the query (a value past bigint would fail in
PostgreSQL), booleans and numbers are strict: a bad value answers 400 naming the filter
instead of being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

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
    UnitState,
)
from portfolio.filters import IdFilter, IntegerFilter, RefFilter, StrictBooleanFilter
from products.models import Stage


class OwnerLoadFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=LoadStatus.choices, label="Load status (repeat for several)"
    )
    design_problem = StrictBooleanFilter(label="Over the ceiling in enough snapshots in a row")
    person = IdFilter(field_name="person_id", label="Person (id)")
    cluster = django_filters.CharFilter(
        method="filter_unit", label="Owners of this cluster (slug) in that snapshot"
    )
    stage = django_filters.ChoiceFilter(
        choices=Stage.choices,
        method="filter_unit",
        label="Owners of a unit in this stage in that snapshot",
    )

    class Meta:
        model = OwnerLoad
        fields = ["status", "design_problem", "person", "cluster", "stage"]

    def filter_unit(self, queryset, name, value):
        # The dashboard's owner panel narrowed by cluster or stage counts these owners.
        lookup = {"cluster__slug": value} if name == "cluster" else {"stage": value}
        units = UnitState.objects.filter(
            snapshot_id=OuterRef("snapshot_id"), owner_id=OuterRef("person_id"), **lookup
        )
        return queryset.filter(Exists(units))


class SplitSignalFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=SignalStatus.choices,
        label="Status (repeat for several; default: every status)",
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=SignalKind.choices, label="Kind of signal (repeat for several)"
    )
    cluster = RefFilter(field_name="cluster", label="Cluster (id or slug)")
    product = RefFilter(field_name="product", label="Product (id or slug)")
    owner = IdFilter(field_name="cluster__unit__owner_id", label="Owner of the cluster (id)")
    stage = django_filters.ChoiceFilter(
        field_name="product__lifecycle_stage", choices=Stage.choices, label="Member's stage"
    )

    class Meta:
        model = SplitSignal
        fields = ["status", "kind", "cluster", "product", "owner", "stage"]


class CandidateFilterSet(django_filters.FilterSet):
    top = IntegerFilter(
        method="filter_top",
        label="Only the first N (after the other filters); default: all",
        min_value=1,
        max_value=100000,
    )
    cluster = RefFilter(
        field_name="unit__cluster", label="Cluster (id or slug) the product belongs to"
    )

    class Meta:
        model = Candidate
        fields = ["top", "cluster"]

    def filter_top(self, queryset, name, value: int):
        return queryset  # applied last, in filter_queryset: a slice takes no more filters

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
    product = RefFilter(field_name="product", label="Product (id or slug)")
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


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=SnapshotStatus.choices, label="Run status (repeat for several)"
    )

    class Meta:
        model = Snapshot
        fields = ["status"]
