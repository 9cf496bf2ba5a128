"""Filtersets shared by the backlog pages and the API."""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q

from backlog.models import BacklogItem, ItemStatus, ItemType
from portfolio.filters import UpdatedSinceFilterSet
from products.models import Dimension

# Ids are checked before they reach the query: a value past bigint would fail in PostgreSQL.
_ID = RegexValidator(r"^[0-9]{1,18}\Z", "An id (a whole number).")
_ID_OR_SLUG = RegexValidator(r"^([0-9]{1,18}|[-a-zA-Z0-9_]{1,160})\Z", "An id or a slug.")


class BacklogItemFilterSet(UpdatedSinceFilterSet):
    unit = django_filters.CharFilter(
        field_name="unit_id", label="Ownership unit (id)", validators=[_ID]
    )
    product = django_filters.CharFilter(
        method="filter_product", label="Component product (id or slug)", validators=[_ID_OR_SLUG]
    )
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

    def filter_product(self, queryset, name, value):
        if value.isdigit():
            return queryset.filter(Q(product_id=int(value)) | Q(product__slug=value))
        return queryset.filter(product__slug=value)
