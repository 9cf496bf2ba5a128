"""Filtersets of the reviews API: cycles, reviews, packets, decisions and action items.

Ids are checked before they reach the query (a value past bigint would fail in PostgreSQL),
dates are ISO 8601 and booleans strict: a bad value answers 400 naming the filter instead of
being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.validators import RegexValidator

from portfolio.filters import StrictBooleanFilter, UpdatedSinceFilterSet
from portfolio.validation import validate_date_range
from reviews.api.serializers import followed_through
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    DecisionKind,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)

_ID = RegexValidator(r"^[0-9]{1,18}\Z", "An id (a whole number).")


def id_filter(field_name: str, label: str) -> django_filters.CharFilter:
    return django_filters.CharFilter(field_name=field_name, label=label, validators=[_ID])


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ReviewCycleFilterSet(UpdatedSinceFilterSet):
    year = IntegerFilter(field_name="year", label="Year", min_value=2000, max_value=2100)
    status = django_filters.MultipleChoiceFilter(
        choices=CycleStatus.choices, label="Status (repeat for several)"
    )

    class Meta:
        model = ReviewCycle
        fields = ["year", "status", "updated_since"]


class DateRangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start is not None and end is not None and start > end:
            self.add_error("to", "Must not be before `from`.")
        return data


class ReviewFilterSet(UpdatedSinceFilterSet):
    """`from` and `to` (scheduled day, both inclusive) are added below: Python keywords."""

    cycle = id_filter("cycle_id", "Review cycle (id)")
    unit = id_filter("unit_id", "Ownership unit (id)")
    owner = id_filter("owner_id", "Owner when scheduled (person id)")
    status = django_filters.MultipleChoiceFilter(
        choices=ReviewStatus.choices, label="Status (repeat for several)"
    )

    class Meta:
        model = Review
        fields = ["cycle", "unit", "owner", "status", "updated_since"]
        form = DateRangeForm


ReviewFilterSet.base_filters["from"] = django_filters.DateFilter(
    field_name="scheduled_on",
    lookup_expr="gte",
    label="Scheduled on or after (YYYY-MM-DD)",
    validators=[validate_date_range],
)
ReviewFilterSet.base_filters["to"] = django_filters.DateFilter(
    field_name="scheduled_on",
    lookup_expr="lte",
    label="Scheduled on or before (YYYY-MM-DD)",
    validators=[validate_date_range],
)


class PacketFilterSet(django_filters.FilterSet):
    review = id_filter("review_id", "Review (id)")
    cycle = id_filter("review__cycle_id", "Review cycle (id)")
    status = django_filters.MultipleChoiceFilter(
        choices=PacketStatus.choices, label="Status (repeat for several)"
    )

    class Meta:
        model = Packet
        fields = ["review", "cycle", "status"]


class DecisionFilterSet(UpdatedSinceFilterSet):
    review = id_filter("review_id", "Review (id)")
    unit = id_filter("review__unit_id", "Ownership unit (id)")
    cycle = id_filter("review__cycle_id", "Review cycle (id)")
    kind = django_filters.MultipleChoiceFilter(
        choices=DecisionKind.choices, label="Kind (repeat for several)"
    )

    class Meta:
        model = Decision
        fields = ["review", "unit", "cycle", "kind", "updated_since"]


class ActionItemFilterSet(UpdatedSinceFilterSet):
    review = id_filter("review_id", "Review (id)")
    unit = id_filter("review__unit_id", "Ownership unit (id)")
    cycle = id_filter("review__cycle_id", "Review cycle (id)")
    owner = id_filter("owner_id", "Who does it (person id)")
    done = StrictBooleanFilter(field_name="done", label="Marked done by hand (true/false)")
    followed_through = StrictBooleanFilter(
        method="filter_followed_through",
        label="Done by hand or through its backlog item (true/false)",
    )

    class Meta:
        model = ActionItem
        fields = ["review", "unit", "cycle", "owner", "done", "followed_through", "updated_since"]

    def filter_followed_through(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(followed_through()) if value else queryset.exclude(followed_through())
        )
