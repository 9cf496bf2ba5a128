"""The backlog item filterset, shared by a unit's backlog page and /api/v1/backlog-items/."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus, ItemType
from portfolio.filters import IdFilter, RefFilter, UpdatedSinceFilterSet
from products.models import Dimension

OPEN = "open"


class BacklogItemFilterSet(UpdatedSinceFilterSet):
    unit = IdFilter(field_name="unit_id", label="Ownership unit (id)")
    product = RefFilter(field_name="product", label="Component product (id or slug)")
    status = django_filters.MultipleChoiceFilter(
        choices=[(OPEN, "Open (proposed, ready or in progress)"), *ItemStatus.choices],
        method="filter_status",
        label="Status (repeat for several; `open`: not done nor declined)",
    )
    type = django_filters.ChoiceFilter(choices=ItemType.choices, label="Type")
    dimension = django_filters.ChoiceFilter(choices=Dimension.choices, label="Dimension")
    # Title and description: a search that misses what the description says is no search.
    q = django_filters.CharFilter(method="search", label="Text in the title or description")

    class Meta:
        model = BacklogItem
        fields = ["unit", "product", "status", "type", "dimension", "q", "updated_since"]

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        wanted = {s for s in value if s != OPEN}
        if OPEN in value:
            wanted.update(OPEN_STATUSES)
        return queryset.filter(status__in=wanted)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
