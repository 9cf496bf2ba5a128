"""Filtersets shared by the HTML pages and the API (NetBox style: one filterset per model)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django_filters.constants import EMPTY_VALUES

from portfolio.validation import parse_id, validate_date_range, validate_id

# A slug is ASCII letters, digits, '-' and '_' (so an id is one too, as far as the form goes).
ID_OR_SLUG = RegexValidator(r"^[-a-zA-Z0-9_]{1,160}\Z", "An id or a slug.")


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


def by_ref(queryset: QuerySet, value: str, path: str = "") -> QuerySet:
    """Rows whose object at `path` (the row itself if empty) has `value` as its id or slug.

    A slug may be all digits, so both are tried; a number that is no id (past bigint) is
    only a slug.
    """
    prefix = f"{path}__" if path else ""
    condition = Q(**{f"{prefix}slug": value})
    number = parse_id(value)
    if number is not None:
        condition |= Q(**{f"{path}_id" if path else "pk": number})
    return queryset.filter(condition)


class IdFilter(django_filters.CharFilter):
    """A row id at `field_name`; anything else (past bigint, '١٢') is a 400 naming the filter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_id])
        super().__init__(*args, **kwargs)


class RefFilter(django_filters.CharFilter):
    """The object at `field_name` given by id or slug (see by_ref); other text is a 400."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [ID_OR_SLUG])
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return by_ref(qs, value, self.field_name)


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
