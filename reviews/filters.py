"""Filtersets of the reviews API: cycles, reviews, packets, decisions and action items.

Ids are checked before they reach the query (a value past bigint would fail in PostgreSQL),
dates are ISO 8601 and booleans strict: a bad value answers 400 naming the filter instead of
being ignored.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from portfolio.filters import IdFilter, IntegerFilter, StrictBooleanFilter, UpdatedSinceFilterSet
from portfolio.validation import validate_date_range
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

    cycle = IdFilter(field_name="cycle_id", label="Review cycle (id)")
    unit = IdFilter(field_name="unit_id", label="Ownership unit (id)")
    owner = IdFilter(field_name="owner_id", label="Owner when scheduled (person id)")
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
    review = IdFilter(field_name="review_id", label="Review (id)")
    cycle = IdFilter(field_name="review__cycle_id", label="Review cycle (id)")
    status = django_filters.MultipleChoiceFilter(
        choices=PacketStatus.choices, label="Status (repeat for several)"
    )

    class Meta:
        model = Packet
        fields = ["review", "cycle", "status"]


class DecisionFilterSet(UpdatedSinceFilterSet):
    review = IdFilter(field_name="review_id", label="Review (id)")
    unit = IdFilter(field_name="review__unit_id", label="Ownership unit (id)")
    cycle = IdFilter(field_name="review__cycle_id", label="Review cycle (id)")
    kind = django_filters.MultipleChoiceFilter(
        choices=DecisionKind.choices, label="Kind (repeat for several)"
    )

    class Meta:
        model = Decision
        fields = ["review", "unit", "cycle", "kind", "updated_since"]


def followed_through() -> Q:
    """Done by hand, or through the backlog item it became (same rule as ActionItem.is_done)."""
    return Q(done=True) | Q(backlog_item__status="done")


class ActionItemFilterSet(UpdatedSinceFilterSet):
    review = IdFilter(field_name="review_id", label="Review (id)")
    unit = IdFilter(field_name="review__unit_id", label="Ownership unit (id)")
    cycle = IdFilter(field_name="review__cycle_id", label="Review cycle (id)")
    owner = IdFilter(field_name="owner_id", label="Who does it (person id)")
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
