"""The dependency map of a product: two levels of dependants and dependencies, drawn as SVG.

`dependency_map()` reads the graph in two queries whatever its size: one for the edges of the
two levels (subqueries find the first level inside the same statement), one for the nodes the
user may see, with their metric health. `render_svg()` lays the nodes out in columns
(dependants left, the product in the middle, dependencies right) and writes the SVG with
ElementTree, which escapes every name. No script draws anything.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from portfolio.permissions import AnyUser
from products.extensions import product_health
from products.models import Product, Stage

# Nodes drawn per column; the rest are counted in a "+N more" link to the product list.
NODE_CAP = 12
LEVELS = (-2, -1, 0, 1, 2)  # dependants of dependants ... dependencies of dependencies

# The metric severity ranks (metrics.models.SEVERITY, which the catalogue may not import; a
# test holds the two together) as (css name, label, border colour, symbol).
HEALTH: dict[int | None, tuple[str, str, str, str]] = {
    0: ("green", "Green", "#2e7d32", "✓"),
    1: ("no_data", "No data", "#8a93a0", "–"),
    2: ("stale", "Stale", "#5d6675", "⏱"),
    3: ("amber", "Amber", "#c77700", "!"),
    4: ("red", "Red", "#b3261e", "✕"),
    None: ("none", "No metrics", "#b8bec8", "·"),
}
# Fill per lifecycle stage: the stage badges' colours (static/css/app.css .stage-*).
STAGE_FILL: dict[str, str] = {
    Stage.INTRODUCTION: "#e4ecfb",
    Stage.GROWTH: "#dff3e4",
    Stage.MATURITY: "#ece6f8",
    Stage.RETIREMENT: "#fdebd3",
    Stage.RETIRED: "#e6e6e6",
}
STAGE_LABEL: dict[str, str] = dict(Stage.choices)


@dataclass
class Node:
    id: int
    name: str
    slug: str
    stage: str
    health: int | None
    level: int

    @property
    def url(self) -> str:
        return reverse("product-detail", args=[self.slug])

    @property
    def stage_label(self) -> str:
        return STAGE_LABEL.get(self.stage, self.stage)

    @property
    def health_label(self) -> str:
        return HEALTH.get(self.health, HEALTH[None])[1]

    @property
    def title(self) -> str:
        return f"{self.name}: stage {self.stage_label}, health {self.health_label}"


@dataclass
class Column:
    level: int
    nodes: list[Node] = field(default_factory=list)  # shown, by name
    hidden: int = 0  # beyond the cap
    more_url: str = ""


@dataclass
class DependencyMap:
    center: Node
    columns: dict[int, Column]
    edges: list[tuple[int, int]]  # (dependant, dependency), both shown

    @property
    def is_empty(self) -> bool:
        return not any(c.nodes for level, c in self.columns.items() if level != 0)

    def level_names(self, level: int) -> list[str]:
        return [n.name for n in self.columns[level].nodes]


def _levels(product_id: int, edges: list[tuple[int, int]]) -> dict[int, int]:
    """Each product's column: a first-level neighbour stays on the first level even when it is
    also a second-level one (a diamond or a cycle); dependencies win a tie with dependants."""
    deps1 = {to for frm, to in edges if frm == product_id}
    ups1 = {frm for frm, to in edges if to == product_id}
    deps2 = {to for frm, to in edges if frm in deps1}
    ups2 = {frm for frm, to in edges if to in ups1}
    level: dict[int, int] = {product_id: 0}
    for ids, lvl in ((deps1, 1), (ups1, -1), (deps2, 2), (ups2, -2)):
        for pk in ids:
            level.setdefault(pk, lvl)
    return level


def _more_url(level: int, center: Node, first: list[Node]) -> str:
    """The product list showing a column in full: the direct neighbours of the product, or of
    every first-level neighbour on that side."""
    slugs = [center.slug] if abs(level) == 1 else [n.slug for n in first]
    param = "dependency_of" if level > 0 else "dependant_of"
    return f"{reverse('product-list')}?{urlencode({param: ','.join(slugs)})}"


def dependency_map(*, product: Product, user: AnyUser, cap: int = NODE_CAP) -> DependencyMap:
    """Two levels each way around `product`, as far as `user` may see them. Two queries."""
    through = Product.dependencies.through.objects
    pk = product.pk
    first_deps = through.filter(from_product_id=pk).values("to_product_id")
    first_ups = through.filter(to_product_id=pk).values("from_product_id")
    edges = list(
        through.filter(
            Q(from_product_id=pk)
            | Q(to_product_id=pk)
            | Q(from_product_id__in=first_deps)
            | Q(to_product_id__in=first_ups)
        )
        .order_by()
        .values_list("from_product_id", "to_product_id")
    )
    level = _levels(pk, edges)
    rows = (
        Product.objects.visible_to(user)
        .filter(id__in=list(level))
        .order_by("name", "id")
        .values("id", "name", "slug", "lifecycle_stage", health=product_health("pk"))
    )
    nodes = {
        row["id"]: Node(
            row["id"], row["name"], row["slug"], row["lifecycle_stage"], row["health"], 0
        )
        for row in rows
    }
    columns = {lvl: Column(lvl) for lvl in LEVELS}
    for node in nodes.values():  # by name
        node.level = level[node.id]
        columns[node.level].nodes.append(node)
    center = nodes.get(pk) or Node(pk, product.name, product.slug, product.lifecycle_stage, None, 0)
    columns[0].nodes = [center]
    first = {1: list(columns[1].nodes), -1: list(columns[-1].nodes)}  # before the cap
    for lvl in (-1, 1, -2, 2):
        column, total = columns[lvl], len(columns[lvl].nodes)
        candidates = column.nodes
        if abs(lvl) == 2:
            # A second-level product is drawn only beside a first-level one that is drawn;
            # the others are counted in "+N more" rather than floating unconnected.
            near = {n.id for n in columns[lvl // 2].nodes}
            linked = (
                {t for f, t in edges if f in near}
                if lvl > 0
                else {f for f, t in edges if t in near}
            )
            candidates = [n for n in column.nodes if n.id in linked]
        column.nodes = candidates[:cap]
        column.hidden = total - len(column.nodes)
        if column.hidden:
            column.more_url = _more_url(lvl, center, first[1 if lvl > 0 else -1])
    shown = {n.id for c in columns.values() for n in c.nodes}
    drawn = sorted({(f, t) for f, t in edges if f in shown and t in shown and f != t})
    return DependencyMap(center=center, columns=columns, edges=drawn)


# --- drawing ----------------------------------------------------------------------------------

NODE_W, NODE_H = 180, 34
COL_GAP, ROW_GAP = 60, 12
PAD = 16
LABEL_CHARS = 20
SVG_NS = "http://www.w3.org/2000/svg"


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def render_svg(graph: DependencyMap) -> str:
    """The map as an SVG string (escaped by ElementTree; safe to mark safe)."""
    levels = [lvl for lvl in LEVELS if graph.columns[lvl].nodes]
    rows = max(len(c.nodes) + (1 if c.hidden else 0) for c in graph.columns.values())
    pitch = NODE_H + ROW_GAP
    width = PAD * 2 + len(levels) * NODE_W + (len(levels) - 1) * COL_GAP
    height = PAD * 2 + rows * pitch - ROW_GAP
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": "dependency-map",
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "aria-label": f"Dependency map of {graph.center.name}",
        },
    )
    defs = _sub(svg, "defs")
    marker = _sub(
        defs,
        "marker",
        id="map-arrow",
        viewBox="0 0 10 10",
        refX=10,
        refY=5,
        markerWidth=7,
        markerHeight=7,
        orient="auto-start-reverse",
    )
    _sub(marker, "path", d="M0,0 L10,5 L0,10 z", fill="#6b7280")

    where: dict[int, tuple[float, float]] = {}  # node id -> (x, y) of its top left corner
    for col, lvl in enumerate(levels):
        column = graph.columns[lvl]
        x = PAD + col * (NODE_W + COL_GAP)
        used = len(column.nodes) + (1 if column.hidden else 0)
        top = PAD + (rows - used) * pitch / 2
        for i, node in enumerate(column.nodes):
            where[node.id] = (x, top + i * pitch)
        column_more = (x, top + len(column.nodes) * pitch)
        if column.hidden:
            link = _sub(svg, "a", href=column.more_url, **{"class": "map-more"})
            _sub(link, "title", f"Show all {column.hidden + len(column.nodes)} in the list")
            _sub(
                link,
                "text",
                f"+{column.hidden} more",
                x=column_more[0] + NODE_W / 2,
                y=column_more[1] + NODE_H / 2 + 4,
                text_anchor="middle",
                font_size=12,
                fill="#1f3f82",
                text_decoration="underline",
            )

    edges = _sub(svg, "g", fill="none", stroke="#6b7280", stroke_width="1.3")
    for frm, to in graph.edges:
        (fx, fy), (tx, ty) = where[frm], where[to]
        fy, ty = fy + NODE_H / 2, ty + NODE_H / 2
        if fx < tx:
            sx, ex, bend = fx + NODE_W, tx, (tx - fx - NODE_W) / 2
            d = f"M{sx},{fy} C{sx + bend},{fy} {ex - bend},{ty} {ex},{ty}"
        elif fx > tx:
            sx, ex, bend = fx, tx + NODE_W, (fx - tx - NODE_W) / 2
            d = f"M{sx},{fy} C{sx - bend},{fy} {ex + bend},{ty} {ex},{ty}"
        else:  # the same column: an arc on its right
            sx = fx + NODE_W
            d = f"M{sx},{fy} C{sx + 40},{fy} {sx + 40},{ty} {sx},{ty}"
        _sub(edges, "path", d=d, marker_end="url(#map-arrow)")

    for column in graph.columns.values():
        for node in column.nodes:
            _draw_node(svg, node, *where[node.id], center=node is graph.center)
    return ET.tostring(svg, encoding="unicode", short_empty_elements=True)


def _draw_node(svg: ET.Element, node: Node, x: float, y: float, *, center: bool) -> None:
    css, _label_text, border, symbol = HEALTH.get(node.health, HEALTH[None])
    link = _sub(
        svg,
        "a",
        href=node.url,
        aria_label=node.title,
        **{"class": f"map-node stage-{node.stage} health-{css}{' map-center' if center else ''}"},
    )
    _sub(link, "title", node.title)
    _sub(
        link,
        "rect",
        x=x,
        y=y,
        width=NODE_W,
        height=NODE_H,
        rx=8,
        fill=STAGE_FILL.get(node.stage, "#ffffff"),
        stroke=border,
        stroke_width=3 if center else 2,
    )
    _sub(link, "circle", cx=x + 14, cy=y + NODE_H / 2, r=7, fill=border)
    _sub(
        link,
        "text",
        symbol,
        x=x + 14,
        y=y + NODE_H / 2 + 4,
        text_anchor="middle",
        font_size=10,
        fill="#ffffff",
        aria_hidden="true",
    )
    _sub(
        link,
        "text",
        _label(node.name),
        x=x + 28,
        y=y + NODE_H / 2 + 4,
        font_size=12,
        font_weight=700 if center else 400,
        fill="#1f2430",
    )
