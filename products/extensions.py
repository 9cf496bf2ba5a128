"""Extension points that the apps above the catalogue fill in at start-up.

The catalogue sits below metrics (metrics point at products), yet the product list and the
cluster pages show each row's metric health, computed inside the list's own statement. So
metrics registers its two health subqueries here in `MetricsConfig.ready()`, the same way the
backlog registers its unit and stage hooks with products.services. Without a registration the
health is NULL, which the badges show as "no data".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import IntegerField, Value
from django.db.models.expressions import BaseExpression

# A Subquery is a BaseExpression, not an Expression.
HealthFactory = Callable[..., BaseExpression]

_health: dict[str, HealthFactory] = {}


def register_health(*, product: HealthFactory, unit: HealthFactory) -> None:
    """Register the subqueries giving the worst metric severity of a product and of a unit."""
    _health["product"] = product
    _health["unit"] = unit


def _none(*_args: Any, **_kwargs: Any) -> BaseExpression:
    return Value(None, output_field=IntegerField())


def product_health(outer: str = "pk", **kwargs: Any) -> BaseExpression:
    """The worst severity of the product's metrics (`outer` names the product's id)."""
    return _health.get("product", _none)(outer, **kwargs)


def unit_health(outer: str = "pk", **kwargs: Any) -> BaseExpression:
    """The worst severity of the metrics of the unit's products (`outer` names the unit's id)."""
    return _health.get("unit", _none)(outer, **kwargs)
