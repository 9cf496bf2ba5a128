"""Filtersets shared by the backlog pages and the API."""

from __future__ import annotations

import django_filters

from backlog.models import BacklogItem, ItemStatus, ItemType
from portfolio.filters import IdFilter, RefFilter, UpdatedSinceFilterSet
from products.models import Dimension


class BacklogItemFilterSet(UpdatedSinceFilterSet):
    unit = IdFilter(field_name="unit_id", label="Ownership unit (id)")
    product = RefFilter(field_name="product", label="Component product (id or slug)")
    # distinct=False: a filter on the item's own column cannot repeat a row.
    status = django_filters.MultipleChoiceFilter(
        choices=ItemStatus.choices, label="Status", distinct=False
    )
    type = django_filters.ChoiceFilter(choices=ItemType.choices, label="Type")
    dimension = django_filters.ChoiceFilter(choices=Dimension.choices, label="Dimension")
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")

    class Meta:
        model = BacklogItem
        fields = ["unit", "product", "status", "type", "dimension", "q", "updated_since"]
