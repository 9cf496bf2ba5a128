"""Filtersets shared by the HTML pages and the API (NetBox style: one filterset per model)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q

from portfolio.models import Cluster, Person, Team


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, turned into UTC here: PostgreSQL refuses offsets past 15:59 (`+23:34`)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError as exc:
            raise forms.ValidationError("Enter a date and time within years 1 to 9999.") from exc


class UpdatedSinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class UpdatedSinceFilterSet(django_filters.FilterSet):
    """Every list offers `updated_since` (ISO 8601) for syncing clients."""

    updated_since = UpdatedSinceFilter(
        field_name="updated_at", lookup_expr="gte", label="Updated since"
    )


class PersonFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Person
        fields = ["q", "active", "updated_since"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class TeamFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    member = django_filters.ModelChoiceFilter(
        field_name="members", queryset=Person.objects.all(), label="Member"
    )

    class Meta:
        model = Team
        fields = ["q", "member", "updated_since"]


class ClusterFilterSet(UpdatedSinceFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    owner = django_filters.ModelChoiceFilter(
        field_name="unit__owner", queryset=Person.objects.all(), label="Owner"
    )
    has_reason = django_filters.BooleanFilter(method="filter_has_reason", label="Has a reason")

    class Meta:
        model = Cluster
        fields = ["q", "owner", "has_reason", "updated_since"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_has_reason(self, queryset, name, value):
        return queryset.exclude(reasons=[]) if value else queryset.filter(reasons=[])
