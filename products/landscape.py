"""The portfolio landscape: business capabilities (rows) against lifecycle stages or clusters
(columns), one tile per product, coloured by its metric health.

Capabilities are the product's `business_capabilities` lines (one per line, compared without
case or surrounding space); a product serving three capabilities shows in three rows, and one
that names none shows in the last row. The products are the product list's, filtered by the
same filterset, and are read in one query with their owner, cluster and health.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from portfolio.permissions import AnyUser
from products.extensions import product_health
from products.filters import ProductFilterSet
from products.maps import HEALTH
from products.models import Product, Stage
from products.selectors import ROW_COLUMNS, ROW_JOINS, present_rows, product_list

NO_CAPABILITY = "No capability recorded"
NO_CLUSTER = "No cluster"
# What the columns can be, the first being the default.
COLUMN_CHOICES = {"stage": "Lifecycle stage", "cluster": "Cluster"}


@dataclass
class Tile:
    name: str
    url: str
    owner: str  # the owner's name, or why nobody is accountable
    stage: str
    stage_label: str
    cluster: str
    health_css: str
    health_label: str

    @property
    def label(self) -> str:
        return (
            f"{self.name}: owner {self.owner}, stage {self.stage_label}, "
            f"cluster {self.cluster or 'none'}, health {self.health_label}"
        )


@dataclass
class Row:
    capability: str
    cells: list[list[Tile]] = field(default_factory=list)  # one list per column

    @property
    def count(self) -> int:
        return sum(len(cell) for cell in self.cells)


@dataclass
class Landscape:
    by: str
    columns: list[str]  # column labels
    rows: list[Row]
    product_count: int  # distinct products, however many rows each is in


def capabilities_of(text: str) -> list[str]:
    """The capability lines of a product, each once, in the order written."""
    seen: dict[str, str] = {}
    for line in text.splitlines():
        label = " ".join(line.split())
        if label:
            seen.setdefault(label.casefold(), label)
    return list(seen.values())


def _rows(qs: QuerySet[Product]) -> list[dict[str, Any]]:
    return present_rows(
        qs.values(
            *ROW_COLUMNS, "business_capabilities", **ROW_JOINS, health=product_health("pk")
        ).order_by("name", "id")
    )


def _tile(row: dict[str, Any]) -> Tile:
    css, label, _colour, _symbol = HEALTH.get(row["health"], HEALTH[None])
    owner = row["owner_warning"] or row["owner_name"]
    if row["owner_warning"] and row["owner_name"]:
        owner = f"{row['owner_name']} ({row['owner_warning'].lower()})"
    return Tile(
        name=row["name"],
        url=row["url"],
        owner=owner,
        stage=row["lifecycle_stage"],
        stage_label=row["lifecycle_stage_label"],
        cluster=row["cluster_name"] or "",
        health_css=css,
        health_label=label,
    )


def landscape(
    *, user: AnyUser, params: Mapping[str, Any], by: str = "stage"
) -> tuple[ProductFilterSet, Landscape]:
    """The landscape of the products `user` may see that pass the list's filters in `params`,
    with columns `by` stage or cluster. One query."""
    filterset, qs = product_list(user=user, params=params)
    rows = _rows(qs)
    if by == "cluster":
        names = sorted({r["cluster_name"] for r in rows if r["cluster_name"]}, key=str.casefold)
        columns = [*names, NO_CLUSTER]
        index = {name: i for i, name in enumerate(names)}

        def column_of(row: dict[str, Any]) -> int:
            return index.get(row["cluster_name"], len(names))
    else:
        columns = [label for _, label in Stage.choices]
        stage_index = {value: i for i, (value, _) in enumerate(Stage.choices)}

        def column_of(row: dict[str, Any]) -> int:
            return stage_index[row["lifecycle_stage"]]

    grid: dict[str, Row] = {}
    for row in rows:
        tile, col = _tile(row), column_of(row)
        for capability in capabilities_of(row["business_capabilities"]) or [NO_CAPABILITY]:
            key = capability.casefold() if capability != NO_CAPABILITY else ""
            line = grid.setdefault(key, Row(capability, [[] for _ in columns]))
            line.cells[col].append(tile)
    # By capability name, the products naming none last.
    ordered = sorted(grid.items(), key=lambda item: (item[0] == "", item[0]))
    return filterset, Landscape(
        by=by, columns=columns, rows=[r for _, r in ordered], product_count=len(rows)
    )
