"""The landscape page: capabilities against stages or clusters, tiles coloured by health."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.urls import reverse

from products.landscape import NO_CAPABILITY, NO_CLUSTER, capabilities_of, landscape
from products.models import Criticality, Stage
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = reverse("landscape")


@pytest.fixture
def portfolio(owner_person):
    hr = ClusterFactory(name="People services", owner=owner_person)
    bo = PersonFactory(name="Bo Builder")
    team = TeamFactory(name="Core team", slug="core")
    payroll = ProductFactory(
        name="Payroll",
        slug="payroll",
        owner=owner_person,
        cluster=hr,
        lifecycle_stage=Stage.MATURITY,
        business_capabilities="Pay staff\nReport to tax office\n pay  STAFF ",
        criticality=Criticality.CRITICAL,
        team=team,
    )
    leave = ProductFactory(
        name="Leave planner",
        slug="leave",
        owner=owner_person,
        cluster=hr,
        lifecycle_stage=Stage.GROWTH,
        business_capabilities="Plan absences",
    )
    wiki = ProductFactory(name="Wiki", slug="wiki", owner=bo, lifecycle_stage=Stage.INTRODUCTION)
    fax = ProductFactory(
        name="Fax gateway",
        slug="fax",
        lifecycle_stage=Stage.RETIREMENT,
        business_capabilities="Report to tax office",
    )
    now = dt.datetime.now(dt.UTC)
    MetricFactory(product=payroll, last_value=90.0, last_read_at=now)  # red
    MetricFactory(product=leave, last_value=99.95, last_read_at=now)  # green
    return {"payroll": payroll, "leave": leave, "wiki": wiki, "fax": fax, "bo": bo}


def grid(landscape_) -> dict[str, dict[str, list[str]]]:
    """capability -> column -> tile names."""
    return {
        row.capability: {
            col: [t.name for t in cell]
            for col, cell in zip(landscape_.columns, row.cells, strict=True)
            if cell
        }
        for row in landscape_.rows
    }


def test_capabilities_are_read_one_per_line_without_case_or_spacing_twins():
    assert capabilities_of("Pay staff\n\n  Report  to tax\npay STAFF\n") == [
        "Pay staff",
        "Report to tax",
    ]


def test_products_are_grouped_by_capability_and_stage(viewer, portfolio):
    _, land = landscape(user=viewer, params={})
    assert land.columns == [label for _, label in Stage.choices]
    assert grid(land) == {
        "Pay staff": {"Maturity": ["Payroll"]},
        "Plan absences": {"Growth": ["Leave planner"]},
        "Report to tax office": {"Maturity": ["Payroll"], "Retirement": ["Fax gateway"]},
        NO_CAPABILITY: {"Introduction": ["Wiki"]},
    }
    assert [r.capability for r in land.rows][-1] == NO_CAPABILITY
    assert land.product_count == 4


def test_columns_switch_to_clusters(viewer, portfolio):
    _, land = landscape(user=viewer, params={"columns": "cluster"}, by="cluster")
    assert land.columns == ["People services", NO_CLUSTER]
    assert grid(land)["Report to tax office"] == {
        "People services": ["Payroll"],
        NO_CLUSTER: ["Fax gateway"],
    }


def test_page_shows_tiles_with_health_owner_link_and_label(viewer_client, portfolio):
    html = viewer_client.get(URL).content.decode()
    payroll = re.search(r'<a class="tile health-(\w+)" href="/products/payroll/"[^>]*>', html)
    assert payroll and payroll.group(1) == "red"
    assert (
        'aria-label="Payroll: owner Olivia Owner, stage Maturity, cluster People services, '
        'health Red"' in payroll.group(0)
    )
    assert re.search(r'class="tile health-green" href="/products/leave/"', html)
    assert re.search(r'class="tile health-none" href="/products/wiki/"', html)
    # a product with no owner says so on its tile
    fax_tile = html.split('href="/products/fax/"')[1].split("</a>")[0]
    assert "No accountable owner" in fax_tile
    # the legend explains the colours, and the page is in the navigation
    assert "Tile colour: metric health" in html
    assert f'href="{URL}" aria-current="page">Landscape<' in html


def test_cluster_columns_on_the_page(viewer_client, portfolio):
    html = viewer_client.get(URL + "?columns=cluster").content.decode()
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert ">People services<" in head and f">{NO_CLUSTER}<" in head
    assert "Retirement" not in head


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=maturity&stage=retirement", {"Payroll", "Fax gateway"}),
        ("criticality=critical", {"Payroll"}),
        ("team=core", {"Payroll"}),
        ("cluster=none", {"Wiki", "Fax gateway"}),
        ("owner=none", {"Fax gateway"}),
        ("q=planner", {"Leave planner"}),
        ("kind=service", set()),
    ],
)
def test_the_product_lists_filters_apply(viewer_client, portfolio, query, expected):
    # the landscape and the product list answer the same query with the same products
    html = viewer_client.get(f"{URL}?{query}&columns=cluster").content.decode()
    tiles = set(re.findall(r'<span class="tile-name">([^<]+)</span>', html))
    assert tiles == expected
    listed = viewer_client.get(f"{reverse('product-list')}?{query}").content.decode()
    assert {
        name
        for name in ("Payroll", "Leave planner", "Wiki", "Fax gateway")
        if f">{name}</a>" in listed
    } == expected


def test_owner_filter_by_person(viewer_client, portfolio):
    html = viewer_client.get(f"{URL}?owner={portfolio['bo'].pk}").content.decode()
    assert set(re.findall(r'<span class="tile-name">([^<]+)</span>', html)) == {"Wiki"}


def test_a_bad_filter_is_reported_and_shows_nothing(viewer_client, portfolio):
    html = viewer_client.get(f"{URL}?stage=sideways").content.decode()
    assert "Some filters could not be read" in html
    assert 'class="tile ' not in html


def test_the_switch_keeps_the_filters(viewer_client, portfolio):
    html = viewer_client.get(f"{URL}?stage=growth").content.decode()
    assert 'href="?stage=growth&amp;columns=cluster"' in html


def test_names_are_escaped(viewer_client):
    ProductFactory(name="<b>Bold</b>", business_capabilities="<i>Italic</i>")
    html = viewer_client.get(URL).content.decode()
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "<i>Italic</i>" not in html


def test_only_what_the_user_may_see(portfolio):
    _, land = landscape(user=AnonymousUser(), params={})
    assert land.rows == [] and land.product_count == 0


def test_print_sheet_is_a3_landscape_and_only_on_this_page(viewer_client, portfolio):
    with open(finders.find("css/landscape-print.css")) as sheet:
        css = sheet.read()
    assert "size: A3 landscape" in css
    assert "landscape-print.css" in viewer_client.get(URL).content.decode()
    assert (
        "landscape-print.css"
        not in viewer_client.get(reverse("product-detail", args=["wiki"])).content.decode()
    )


# Session, user, the leader check of the navigation, the products with their owner, cluster
# and health (one statement), and the filter bar's options (their version; then the cache).
LANDSCAPE_QUERIES = 5


@pytest.mark.parametrize("size", [4, 40])
def test_query_count_does_not_grow(size, viewer_client, django_assert_num_queries):
    owner = PersonFactory()
    clusters = [ClusterFactory(owner=owner) for _ in range(3)]
    for i in range(size):
        ProductFactory(
            owner=owner if i % 2 else None,
            cluster=clusters[i % 3] if i % 4 else None,
            business_capabilities=f"Capability {i % 5}\nShared",
        )
    viewer_client.get(URL)  # builds the filter options once; they are cached from then on
    for columns in ("stage", "cluster"):
        with django_assert_num_queries(LANDSCAPE_QUERIES):
            response = viewer_client.get(f"{URL}?columns={columns}&team=&criticality=low")
        assert response.status_code == 200


def test_an_unknown_column_choice_falls_back_to_stages(viewer_client, portfolio):
    html = viewer_client.get(URL + "?columns=owner").content.decode()
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert ">Retirement<" in head and ">People services<" not in head


def test_the_filter_fields_are_the_product_lists_with_their_own_clear_link(
    viewer_client, portfolio
):
    landscape = viewer_client.get(URL + "?columns=cluster").content.decode()
    products = viewer_client.get("/products/").content.decode()
    # one template of filter fields for both pages; only the list sorts, each clears to itself
    assert f'<a href="{URL}?columns=cluster">Clear filters</a>' in landscape
    assert 'name="ordering"' not in landscape
    assert '<a href="/products/">Clear filters</a>' in products
    assert 'name="ordering"' in products
    for field in ('name="q"', 'name="cluster"', 'name="owner"', 'name="team"', 'name="model"'):
        assert field in landscape and field in products
