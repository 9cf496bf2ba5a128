"""Backlog items for tests.

`BacklogItemFactory(product=p)` writes the row directly: `rank` defaults to the bottom of the
product's unit backlog (max rank + ranking.GAP), or pass `rank=` explicitly to lay out a
backlog by hand. `BacklogItemFactory(product=p, via_service=True, actor=user)` goes through
`backlog_item_create` instead (permissions, validation, status stamps, ranking), with
`position="top"` or `"bottom"`; without an actor a leader is used.
"""

from __future__ import annotations

import factory
from django.db.models import Max

from backlog import ranking
from backlog.models import BacklogItem, ItemSource, ItemStatus, ItemType
from products.models import Dimension, Product
from tests.products.factories import ProductFactory


def _service_actor():
    from tests.portfolio.factories import UserFactory

    return UserFactory(username="backlog-factory-leader", leader=True)


class BacklogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BacklogItem

    product = factory.SubFactory(ProductFactory)
    # Read from the database: the product object a test holds may predate a cluster move.
    unit = factory.LazyAttribute(lambda o: Product.objects.get(pk=o.product.pk).unit)
    title = factory.Sequence(lambda n: f"Backlog item {n}")
    description = ""
    type = ItemType.IMPROVEMENT
    dimension = Dimension.IMPROVEMENT
    status = ItemStatus.PROPOSED
    source = ItemSource.USER_REQUEST
    estimate = None
    rank = None

    # via_service, actor and position are plain keyword arguments read by _create.

    @classmethod
    def _create(cls, model_class, *args, via_service=False, actor=None, position="bottom", **kw):
        if via_service:
            from backlog.services import backlog_item_create

            kw.pop("unit", None)
            kw.pop("rank", None)
            product = kw.pop("product")
            title = kw.pop("title")
            return backlog_item_create(
                actor=actor or _service_actor(),
                product=product,
                title=title,
                position=position,
                **kw,
            )
        if kw.get("rank") is None:
            unit = kw["unit"]
            if position == "top":
                low = (
                    BacklogItem.objects.filter(unit=unit)
                    .order_by("rank")
                    .values_list("rank", flat=True)
                    .first()
                )
                kw["rank"] = (low if low is not None else 0) - ranking.GAP
            else:
                top = BacklogItem.objects.filter(unit=unit).aggregate(m=Max("rank"))["m"]
                kw["rank"] = (top if top is not None else 0) + ranking.GAP
        return super()._create(model_class, *args, **kw)


def make_backlog(product, count: int, *, prefix: str = "Item", **fields) -> list[BacklogItem]:
    """`count` items at the bottom of `product`'s unit backlog, titled f"{prefix} {i}"."""
    return [
        BacklogItemFactory(product=product, title=f"{prefix} {i}", **fields) for i in range(count)
    ]


def titles(unit) -> list[str]:
    """The titles of a unit's backlog, top first."""
    return list(
        BacklogItem.objects.filter(unit=unit).order_by("rank").values_list("title", flat=True)
    )
