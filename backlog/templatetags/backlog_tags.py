"""The backlog section of a product's page: its own items, in the unit's order."""

from __future__ import annotations

from django import template

from backlog.models import OPEN_STATUSES, BacklogItem

register = template.Library()

PRODUCT_TOP = 10


@register.inclusion_tag("backlog/_product_backlog.html")
def product_backlog(product) -> dict:
    """The product's top open items (one query); ranks order the whole unit's backlog."""
    items = list(
        BacklogItem.objects.filter(
            product=product, unit_id=product.unit_id, status__in=OPEN_STATUSES
        )
        .only("title", "status", "type", "estimate")
        .order_by("rank")[:PRODUCT_TOP]
    )
    return {"product": product, "items": items, "limit": PRODUCT_TOP}
