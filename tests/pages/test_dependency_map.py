"""The product page's dependency map: two levels each way, drawn as SVG on the server."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from metrics.models import BY_SEVERITY, SEVERITY
from products.maps import HEALTH, NODE_CAP, STAGE_FILL, dependency_map
from products.models import Stage
from tests.metrics.factories import MetricFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/2000/svg}"


def detail(product):
    return reverse("product-detail", args=[product.slug])


def map_of(html: str) -> ET.Element:
    """The page's map, parsed: it must be well-formed XML (ElementTree wrote it)."""
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="dependency-map"')
    return ET.fromstring(html[start : html.index("</svg>", start) + len("</svg>")])


def nodes(svg: ET.Element) -> dict[str, dict]:
    """Each drawn product by its title's name: link, title, fill and border."""
    out = {}
    for link in svg.iter(f"{NS}a"):
        if "map-node" not in link.get("class", ""):
            continue
        title = link.find(f"{NS}title").text
        rect = link.find(f"{NS}rect")
        out[title.split(": stage ")[0]] = {
            "href": link.get("href"),
            "title": title,
            "fill": rect.get("fill"),
            "stroke": rect.get("stroke"),
            "x": float(rect.get("x")),
        }
    return out


@pytest.fixture
def chain(product):
    """up3 -> up2 -> up1 -> Payroll -> dep1 -> dep2 -> dep3 (A -> B: A depends on B)."""
    names = ["Up 3", "Up 2", "Up 1", None, "Dep 1", "Dep 2", "Dep 3"]
    stages = [
        Stage.GROWTH,
        Stage.INTRODUCTION,
        Stage.GROWTH,
        None,
        Stage.RETIREMENT,
        Stage.RETIRED,
        Stage.MATURITY,
    ]
    items = [
        product if name is None else ProductFactory(name=name, lifecycle_stage=stage)
        for name, stage in zip(names, stages, strict=True)
    ]
    for frm, to in zip(items, items[1:], strict=False):
        frm.dependencies.add(to)
    return dict(zip(names, items, strict=True))


def test_map_shows_two_levels_each_way_and_not_the_third(viewer_client, product, chain):
    # when the product page is read
    svg = map_of(viewer_client.get(detail(product)).content.decode())
    drawn = nodes(svg)
    # then the product, two levels of dependants and two of dependencies are drawn, no more
    assert set(drawn) == {"Up 2", "Up 1", "Payroll", "Dep 1", "Dep 2"}
    # dependants to the left of the product, dependencies to its right, by level
    xs = [drawn[n]["x"] for n in ("Up 2", "Up 1", "Payroll", "Dep 1", "Dep 2")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    # each node links to its product and says its exact name, stage and health
    assert drawn["Dep 2"]["href"] == detail(chain["Dep 2"])
    assert drawn["Dep 2"]["title"] == "Dep 2: stage Retired, health No metrics"
    assert drawn["Up 2"]["title"] == "Up 2: stage Introduction, health No metrics"
    # filled by stage
    assert drawn["Dep 1"]["fill"] == STAGE_FILL[Stage.RETIREMENT]
    assert drawn["Up 1"]["fill"] == STAGE_FILL[Stage.GROWTH]
    assert drawn["Payroll"]["fill"] == STAGE_FILL[Stage.MATURITY]
    # four edges with arrowheads: up2 -> up1 -> payroll -> dep1 -> dep2
    paths = [p for p in svg.iter(f"{NS}path") if p.get("marker-end")]
    assert len(paths) == 4
    assert all(p.get("marker-end") == "url(#map-arrow)" for p in paths)


def test_map_border_shows_metric_health(viewer_client, product, chain):
    # given a dependency whose metric reads below its critical line
    now = dt.datetime.now(dt.UTC)
    MetricFactory(product=chain["Dep 1"], last_value=90.0, last_read_at=now)
    MetricFactory(product=product, last_value=99.95, last_read_at=now)
    # when the page is read
    drawn = nodes(map_of(viewer_client.get(detail(product)).content.decode()))
    # then its border and title say red, the product's say green
    assert drawn["Dep 1"]["stroke"] == HEALTH[SEVERITY["red"]][2]
    assert drawn["Dep 1"]["title"].endswith("health Red")
    assert drawn["Payroll"]["stroke"] == HEALTH[SEVERITY["green"]][2]


def test_health_table_matches_the_metric_severities():
    # the catalogue may not import metrics: its copy of the ranks must agree with theirs
    assert {rank: HEALTH[rank][0] for rank in BY_SEVERITY} == {
        rank: status.value for rank, status in BY_SEVERITY.items()
    }


def test_names_are_escaped(viewer_client, product):
    product.dependencies.add(ProductFactory(name='<script>alert("x")</script> & Co'))
    html = viewer_client.get(detail(product)).content.decode()
    assert "<script>alert" not in html
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; Co' in html
    assert '<script>alert("x")</script> & Co' in nodes(map_of(html))


def test_no_dependencies_shows_the_empty_state(viewer_client, product):
    html = viewer_client.get(detail(product)).content.decode()
    assert 'class="dependency-map"' not in html
    assert "No dependencies recorded" in html


def test_a_column_is_capped_with_a_link_to_the_rest(viewer_client, product):
    # given more first-level dependencies than a column shows, and one of them with its own
    deps = [ProductFactory(name=f"Dep {i:02d}") for i in range(NODE_CAP + 3)]
    product.dependencies.add(*deps)
    for i in range(NODE_CAP + 1):
        deps[0].dependencies.add(ProductFactory(name=f"Second {i:02d}"))
    # and the last one, which is not drawn, has one too
    deps[-1].dependencies.add(ProductFactory(name="Behind a hidden one"))
    # when the page is read
    svg = map_of(viewer_client.get(detail(product)).content.decode())
    drawn = nodes(svg)
    # then each column shows the cap, by name, and a "+N more" link; the second level leaves
    # out what hangs off a first-level product that is not drawn
    assert sum(n.startswith("Dep ") for n in drawn) == NODE_CAP
    assert "Dep 14" not in drawn and "Behind a hidden one" not in drawn
    more = {
        link.find(f"{NS}text").text: link.get("href")
        for link in svg.iter(f"{NS}a")
        if link.get("class") == "map-more"
    }
    assert set(more) == {"+3 more", "+2 more"}
    # the first level's link lists every dependency of the product
    first = urlsplit(more["+3 more"])
    assert first.path == reverse("product-list")
    assert parse_qs(first.query) == {"dependency_of": ["payroll"]}
    listed = viewer_client.get(more["+3 more"]).content.decode()
    assert "15 products" in listed and "Dep 14" in listed and "Second 00" not in listed
    # the second level's link lists what the first level depends on
    second = viewer_client.get(more["+2 more"]).content.decode()
    assert "14 products" in second and "Second 12" in second and "Behind a hidden one" in second
    assert "Dep 01" not in second


def test_dependant_of_filter_lists_what_depends_on_the_products(viewer_client, product, chain):
    html = viewer_client.get(reverse("product-list") + "?dependant_of=payroll,dep-none").content
    assert "1 product<" in html.decode() and "Up 1" in html.decode()


@pytest.mark.parametrize("size", [3, 30])
def test_map_takes_two_queries_whatever_its_size(size, viewer, product, django_assert_num_queries):
    for i in range(size):
        dep = ProductFactory(name=f"Dep {i}")
        up = ProductFactory(name=f"Up {i}")
        product.dependencies.add(dep)
        up.dependencies.add(product)
        dep.dependencies.add(ProductFactory(name=f"Dep {i} b"))
        ProductFactory(name=f"Up {i} b").dependencies.add(up)
    with django_assert_num_queries(2):
        graph = dependency_map(product=product, user=viewer)
    assert len(graph.level_names(-2)) == len(graph.level_names(2)) == min(size, NODE_CAP)


def test_map_keeps_to_what_the_user_may_see(product, chain):
    # an anonymous user sees no product: only the page's own product is left
    graph = dependency_map(product=product, user=AnonymousUser())
    assert graph.is_empty and graph.edges == []


def test_a_cycle_places_each_product_once(viewer, product):
    other = ProductFactory(name="Mirror")
    product.dependencies.add(other)
    other.dependencies.add(product)
    graph = dependency_map(product=product, user=viewer)
    assert graph.level_names(1) == ["Mirror"]
    assert graph.level_names(-1) == graph.level_names(-2) == graph.level_names(2) == []
    assert graph.edges == sorted([(product.pk, other.pk), (other.pk, product.pk)])
