import re

import pytest
from django.urls import reverse

from products.models import Stage
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = reverse("product-list")


def names_in(response) -> set[str]:
    return {row["name"] for row in response.context["page"].object_list}


def test_lists_every_visible_product_without_filters(viewer_client, product, other_product):
    # given two products
    # when a viewer opens the list with no query
    response = viewer_client.get(URL)
    # then both are there, in a full page
    assert response.status_code == 200
    assert names_in(response) == {"Payroll", "Intranet"}
    assert b"<html" in response.content


def test_departed_owner_shows_the_no_accountable_owner_warning(viewer_client, departed_person):
    # given a product whose owner has left and one whose owner is active
    ProductFactory(name="Orphaned", owner=departed_person)
    ProductFactory(name="Looked after", owner=PersonFactory(name="Ann Active"))
    # when the list is shown
    html = viewer_client.get(URL).content.decode()
    # then the departed owner's row carries the warning, the other does not
    orphan_row = html.split("Orphaned")[1].split("</tr>")[0]
    cared_row = html.split("Looked after")[1].split("</tr>")[0]
    assert "No accountable owner: left" in orphan_row
    assert "Dora Departed" in orphan_row
    assert "No accountable owner" not in cared_row


def test_disabled_login_and_missing_owner_also_warn(viewer_client):
    # given one unit owned by a person whose login is disabled and one with no owner at all
    locked = PersonFactory(name="Lou Locked", user=UserFactory(is_active=False))
    ProductFactory(name="Locked out", owner=locked)
    ProductFactory(name="Nobody's", owner=None)
    # when the list is shown
    html = viewer_client.get(URL).content.decode()
    # then both rows warn, each with its own cause
    assert "No accountable owner: login disabled" in html.split("Locked out")[1].split("</tr>")[0]
    assert "No accountable owner" in html.split("Nobody&#x27;s")[1].split("</tr>")[0]


def test_filter_by_stage_returns_only_matching_rows(viewer_client):
    # given products in three stages
    ProductFactory(name="Young", lifecycle_stage=Stage.INTRODUCTION)
    ProductFactory(name="Growing", lifecycle_stage=Stage.GROWTH)
    ProductFactory(name="Settled", lifecycle_stage=Stage.MATURITY)
    # when filtering on two stages
    response = viewer_client.get(URL, {"stage": ["growth", "maturity"]})
    # then only those rows come back, and the boxes stay ticked
    assert names_in(response) == {"Growing", "Settled"}
    assert re.search(r'value="growth"[^>]*checked', response.content.decode())


def test_the_filter_bar_keeps_every_choice_the_request_made(viewer_client):
    # given a request with boxes ticked in each group, a model, an order and a search
    query = "stage=growth&stage=retired&kind=platform&criticality=high&model=project"
    html = viewer_client.get(f"{URL}?{query}&ordering=-name&q=a<b").content.decode()
    # then exactly those boxes are ticked, each box labelled and with an id of its own
    ticked = re.findall(
        r'<input type="checkbox" name="(\w+)" value="([\w-]+)" id="[^"]+" checked>', html
    )
    assert sorted(ticked) == [
        ("criticality", "high"),
        ("kind", "platform"),
        ("stage", "growth"),
        ("stage", "retired"),
    ]
    first = '<input type="checkbox" name="stage" value="introduction" id="id_stage_0">'
    assert f"<label>{first} Introduction</label>" in html
    assert len(re.findall(r'id="id_stage_\d"', html)) == len(Stage.choices)
    # and the selects show the chosen model and order, the search box its text, escaped
    assert (
        '<option value="project" selected>' in html.split('name="model"')[1].split("</select>")[0]
    )
    assert (
        '<option value="-name" selected>' in html.split('name="ordering"')[1].split("</select>")[0]
    )
    assert 'value="a&lt;b"' in html


def test_filter_no_cluster_and_no_accountable_owner(viewer_client, owner_person, departed_person):
    # given a clustered product, a product of its own, and an orphan
    cluster = ClusterFactory(owner=owner_person)
    ProductFactory(name="Member", cluster=cluster, owner=owner_person)
    ProductFactory(name="Alone", owner=owner_person)
    ProductFactory(name="Orphan", owner=departed_person)
    # when filtering on "No cluster" and then on "No accountable owner"
    alone = viewer_client.get(URL, {"cluster": "none"})
    orphans = viewer_client.get(URL, {"owner": "none"})
    # then each returns only its rows
    assert names_in(alone) == {"Alone", "Orphan"}
    assert names_in(orphans) == {"Orphan"}
    # and the filter bar shows the choice that is in force
    assert '<option value="none" selected>No cluster</option>' in alone.content.decode()
    assert '<option value="none" selected>No accountable owner</option>' in (
        orphans.content.decode()
    )
    assert f'<option value="{cluster.slug}">{cluster.name}</option>' in alone.content.decode()


def test_filter_by_management_model_and_kind(viewer_client):
    import datetime as dt

    ProductFactory(
        name="Switch refresh",
        kind="infrastructure",
        management_model="project",
        project_end_date=dt.date(2027, 1, 1),
    )
    ProductFactory(name="Wiki", kind="service")
    assert names_in(viewer_client.get(URL, {"model": "project"})) == {"Switch refresh"}
    assert names_in(viewer_client.get(URL, {"kind": "service"})) == {"Wiki"}


def test_sorting_by_name_descending(viewer_client):
    for name in ("Alpha", "Beta", "Gamma"):
        ProductFactory(name=name)
    response = viewer_client.get(URL, {"ordering": "-name"})
    assert [r["name"] for r in response.context["page"].object_list] == ["Gamma", "Beta", "Alpha"]


def test_htmx_request_returns_only_the_table_partial(viewer_client, product):
    # given a product
    # when the filter form asks through htmx
    response = viewer_client.get(URL, {"q": "pay"}, headers=HTMX)
    # then only the table comes back, and caches are told the answer depends on HX-Request
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="product-table"')
    assert "<html" not in html
    assert 'name="stage"' not in html  # no filter form
    assert "Payroll" in html
    assert "HX-Request" in response["Vary"]


def test_full_page_also_varies_on_hx_request(viewer_client):
    response = viewer_client.get(URL)
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(viewer_client, product):
    # htmx asks for the whole page when its history cache misses
    response = viewer_client.get(URL, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert b"<html" in response.content


def test_paginates_fifty_per_page(viewer_client, portfolio_of):
    # given 55 products
    portfolio_of(55)
    # when reading page 1 and page 2
    first = viewer_client.get(URL)
    second = viewer_client.get(URL, {"page": 2}, headers=HTMX)
    # then 50 then 5 rows, with a link on to the next page keeping the filters
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert b"?page=2" in first.content
    assert b"Page 2 of 2" in second.content


def test_leader_sees_add_button_viewer_does_not(leader_client, viewer_client):
    add = reverse("product-create").encode()
    assert add in leader_client.get(URL).content
    assert add not in viewer_client.get(URL).content


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Query counts: session, user, leader check, count, rows, the filter options' version, and on
# a cache miss the three filter dropdowns (clusters, owners, teams). The same at 5 and 50 rows.
PRODUCT_LIST_QUERIES = 9
OPTION_QUERIES = 3


@pytest.mark.parametrize("rows", [5, 50])
def test_product_list_query_count_does_not_grow(
    rows, viewer_client, portfolio_of, django_assert_num_queries
):
    # given `rows` products
    portfolio_of(rows)
    # when the full page is read, then the count is fixed
    with django_assert_num_queries(PRODUCT_LIST_QUERIES):
        response = viewer_client.get(URL)
    assert len(response.context["page"].object_list) == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_product_table_partial_query_count_does_not_grow(
    rows, viewer_client, portfolio_of, django_assert_num_queries
):
    # the table alone skips the three dropdown queries
    portfolio_of(rows)
    with django_assert_num_queries(PRODUCT_LIST_QUERIES - OPTION_QUERIES - 1):
        response = viewer_client.get(
            URL, {"stage": ["introduction", "growth", "maturity", "retirement"]}, headers=HTMX
        )
    assert len(response.context["page"].object_list) == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_filter_options_are_cached_until_the_rows_behind_them_change(
    rows, viewer_client, leader, portfolio_of, django_assert_num_queries
):
    # given a page already served once
    portfolio_of(rows)
    viewer_client.get(URL)
    # when it is read again, the filter options come from the cache
    with django_assert_num_queries(PRODUCT_LIST_QUERIES - OPTION_QUERIES):
        viewer_client.get(URL)
    # and once a cluster is added, the next page offers it
    from products.services import cluster_create

    cluster_create(actor=leader, name="Brand new cluster")
    with django_assert_num_queries(PRODUCT_LIST_QUERIES):
        response = viewer_client.get(URL)
    assert (
        '<option value="brand-new-cluster">Brand new cluster</option>' in response.content.decode()
    )
