"""Filtersets shared by the HTML pages and the API (NetBox style: one filterset per model)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from portfolio.validation import validate_date_range


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, turned into UTC here: PostgreSQL refuses offsets past 15:59 (`+23:34`).

    Only times within the portfolio's date range pass (portfolio/validation.py); the check
    comes first, so the conversion to UTC cannot overflow."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        validate_date_range(value)
        return value.astimezone(dt.UTC)


class UpdatedSinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class UpdatedSinceFilterSet(django_filters.FilterSet):
    """Every list offers `updated_since` (ISO 8601) for syncing clients."""

    updated_since = UpdatedSinceFilter(
        field_name="updated_at", lookup_expr="gte", label="Updated since"
    )


def by_ref(queryset: QuerySet, value: str, path: str) -> QuerySet:
    """An object given by id or slug at `path` (a slug may be all digits, so both are tried)."""
    if value.isdigit():
        return queryset.filter(Q(**{f"{path}_id": int(value)}) | Q(**{f"{path}__slug": value}))
    return queryset.filter(**{f"{path}__slug": value})


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """true/false (or 1/0); anything else is a 400, not a filter silently left out."""

    field_class = StrictBooleanField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField
