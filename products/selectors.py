"""Reads of products that do more than one filter."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from products.filters import ProductFilterSet
from products.models import LifecycleTransition, Product


def product_list(*, user, params=None) -> tuple[ProductFilterSet, QuerySet[Product]]:
    """Products the user may see, filtered by `params`, with what a list row shows."""
    base = Product.objects.visible_to(user).with_unit()
    filterset = ProductFilterSet(params or None, queryset=base)
    # Unbound (no parameters) means "no filter", not "invalid".
    qs = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    if not (params or {}).get("ordering"):
        qs = qs.order_by("name", "id")
    return filterset, qs


def product_detail(*, user, slug: str) -> Product:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Product.objects.visible_to(user)
        .with_unit()
        .select_related("migration_plan")
        .prefetch_related(
            "external_ids",
            "dependencies",
            "dependents",
            Prefetch(
                "transitions",
                queryset=LifecycleTransition.objects.select_related("actor").order_by("at", "id"),
            ),
        ),
        slug=slug,
    )
