"""The backlog page's component selects list a bounded number of a unit's components; a
lookup finds the rest as you type, and every write still checks the choice against the unit."""

import re

import pytest
from django.urls import reverse

from backlog import services
from backlog.models import BacklogItem
from backlog.selectors import COMPONENT_OPTIONS
from tests.pages.conftest import HTMX
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

MANY = COMPONENT_OPTIONS + 12


@pytest.fixture
def big_cluster(owner_person, cluster):
    """The owner's cluster with more components than a select lists: "Part 00" to "Part 61"."""
    parts = [
        ProductFactory(
            name=f"Part {i:02d}", slug=f"part-{i:02d}", cluster=cluster, owner=owner_person
        )
        for i in range(MANY)
    ]
    return cluster, parts


def lookup(client, unit_id, **params):
    return client.get(reverse("backlog-components", args=[unit_id]), params)


def select(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S)
    assert found, f"no select named {name}"
    return found.group(0)


def option_values(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', html)


def test_the_page_lists_a_bounded_number_of_components_and_offers_the_lookup(
    owner_client, big_cluster
):
    # given a cluster of 62 components
    cluster, parts = big_cluster

    # when its owner opens the backlog page
    response = owner_client.get(reverse("backlog-detail", args=[cluster.unit.pk]))

    # then each component select offers the first 50 by name, and says where the rest are
    html = response.content.decode()
    lookup_url = reverse("backlog-components", args=[cluster.unit.pk])
    create = select(html.split('id="backlog-create"')[1], "product")
    assert option_values(create) == [str(p.pk) for p in parts[:COMPONENT_OPTIONS]]
    assert f'data-lookup="{lookup_url}"' in create
    assert f'data-total="{MANY}"' in create
    filters = select(html.split('aria-label="Filter the backlog"')[1], "product")
    assert option_values(filters) == ["", *(str(p.pk) for p in parts[:COMPONENT_OPTIONS])]
    assert f'data-lookup="{lookup_url}?empty=any"' in filters
    bulk = select(html, "component")
    assert len(option_values(bulk)) == COMPONENT_OPTIONS + 1
    assert f'data-lookup="{lookup_url}?empty=none"' in bulk
    assert f"One ordered backlog for the {MANY} products" in html


def test_a_small_unit_lists_every_component_without_a_lookup(owner_client, owner_person, cluster):
    parts = [ProductFactory(name=n, cluster=cluster, owner=owner_person) for n in ("B", "A")]
    html = owner_client.get(reverse("backlog-detail", args=[cluster.unit.pk])).content.decode()
    filters = select(html, "product")
    assert option_values(filters) == [str(parts[1].pk), str(parts[0].pk)]  # the create form's
    assert "data-lookup" not in html
    # The filter and bulk selects get no search box of their own for two components.
    assert 'name="component"' in html and 'data-searchable="true" id="bulk_' not in html


def test_a_chosen_component_past_the_first_ones_stays_offered_and_selected(
    owner_client, owner, big_cluster
):
    # given an item of the last component, past the first 50
    cluster, parts = big_cluster
    last = parts[-1]
    item = services.backlog_item_create(actor=owner, product=last, title="Late")

    # when the list is filtered by it, and the item is edited
    page = owner_client.get(reverse("backlog-detail", args=[cluster.unit.pk]), {"product": last.pk})
    edit = owner_client.get(reverse("backlog-edit", args=[item.pk]), headers=HTMX)

    # then both selects show it chosen
    filters = select(page.content.decode().split('aria-label="Filter the backlog"')[1], "product")
    assert f'<option value="{last.pk}" selected>Part {MANY - 1}</option>' in filters
    assert [i.title for i in page.context["page"].object_list] == ["Late"]
    assert f'<option value="{last.pk}" selected>Part {MANY - 1}</option>' in edit.content.decode()


def test_the_lookup_answers_the_first_matches_as_options(viewer_client, big_cluster):
    cluster, parts = big_cluster

    # a text that few names hold: those, in name order
    response = lookup(viewer_client, cluster.unit.pk, q="part 1")
    assert response.status_code == 200
    assert option_values(response.content.decode()) == [str(p.pk) for p in parts[10:20]]

    # an empty text: the first 50 and how many more there are
    html = lookup(viewer_client, cluster.unit.pk, q="", empty="any").content.decode()
    first = [str(p.pk) for p in parts[:COMPONENT_OPTIONS]]
    assert option_values(html) == ["", *first, ""]  # the last: a note, disabled
    assert "12 more matches: type more of the name" in html

    # the chosen option is kept in the answer even when the text does not hold it
    html = lookup(viewer_client, cluster.unit.pk, q="part 1", selected=parts[3].pk).content.decode()
    assert option_values(html) == [str(parts[3].pk), *(str(p.pk) for p in parts[10:20])]
    assert f'value="{parts[3].pk}" selected data-chosen' in html

    # no match says so, and offers nothing to choose
    html = lookup(viewer_client, cluster.unit.pk, q="zzz", empty="none").content.decode()
    assert option_values(html) == ["", ""]
    assert "No component's name holds “zzz”" in html


def test_the_lookup_offers_only_the_units_own_components(viewer_client, big_cluster, other_product):
    cluster, _ = big_cluster
    html = lookup(viewer_client, cluster.unit.pk, q="", selected=other_product.pk).content.decode()
    assert str(other_product.pk) not in option_values(html)
    html = lookup(viewer_client, other_product.unit_id, q="part").content.decode()
    assert option_values(html) == [""]  # "No component's name holds"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 101},
        {"selected": "abc"},
        {"selected": "0"},
        {"selected": str(2**63)},
        {"empty": "nothing"},
    ],
    ids=["long text", "id not a number", "id zero", "id too big", "unknown empty choice"],
)
def test_the_lookup_refuses_bad_input_with_a_400(viewer_client, big_cluster, params):
    cluster, _ = big_cluster
    response = lookup(viewer_client, cluster.unit.pk, **params)
    assert response.status_code == 400
    assert next(iter(params)) in response.content.decode()


def test_the_lookup_of_a_unit_that_does_not_exist_is_a_404(viewer_client):
    assert lookup(viewer_client, 987654, q="a").status_code == 404


@pytest.mark.parametrize("n", [5, 60])
def test_the_lookup_query_count_does_not_grow(
    n, viewer_client, owner_person, cluster, django_assert_num_queries
):
    parts = [ProductFactory(name=f"P{i}", cluster=cluster, owner=owner_person) for i in range(n)]
    # session, user, unit, components (with their total), the chosen one
    with django_assert_num_queries(5):
        response = lookup(viewer_client, cluster.unit.pk, q="p", selected=parts[-1].pk)
    assert response.status_code == 200


def create_data(product) -> dict:
    return {
        "title": "New idea",
        "product": product.pk,
        "type": "improvement",
        "dimension": "improvement",
        "source": "user_request",
        "position": "bottom",
    }


def test_forms_accept_any_component_of_the_unit_even_past_the_listed_ones(
    owner_client, owner, big_cluster
):
    cluster, parts = big_cluster
    url = reverse("backlog-create", args=[cluster.unit.pk])
    assert owner_client.post(url, create_data(parts[-1])).status_code == 302
    item = BacklogItem.objects.get(title="New idea")
    assert item.product == parts[-1]

    bulk = reverse("backlog-bulk", args=[cluster.unit.pk])
    data = {"action": "component", "component": parts[-2].pk, "items": [item.pk]}
    assert owner_client.post(bulk, data).status_code == 302
    item.refresh_from_db()
    assert item.product == parts[-2]


def test_forms_refuse_a_component_outside_the_unit(owner_client, owner, big_cluster, other_product):
    cluster, parts = big_cluster
    url = reverse("backlog-create", args=[cluster.unit.pk])

    # create: another unit's product, a missing id and a non-number are each refused
    for value in (other_product.pk, 987654, "abc", str(2**63)):
        response = owner_client.post(url, {**create_data(parts[0]), "product": value}, headers=HTMX)
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert not BacklogItem.objects.exists()

    # edit and bulk: the same
    item = services.backlog_item_create(actor=owner, product=parts[0], title="Mine")
    edit = {
        "title": "Moved away",
        "product": other_product.pk,
        "type": item.type,
        "dimension": item.dimension,
        "status": item.status,
        "estimate": "",
        "source": item.source,
        "description": "",
        "version": item.version,
    }
    response = owner_client.post(reverse("backlog-edit", args=[item.pk]), edit, headers=HTMX)
    assert response.status_code == 400
    bulk = reverse("backlog-bulk", args=[cluster.unit.pk])
    data = {"action": "component", "component": other_product.pk, "items": [item.pk]}
    assert owner_client.post(bulk, data, headers=HTMX).status_code == 400
    item.refresh_from_db()
    assert (item.title, item.product) == ("Mine", parts[0])


def test_a_filter_on_another_units_component_is_shown_as_an_error(
    viewer_client, big_cluster, other_product
):
    cluster, _ = big_cluster
    response = viewer_client.get(
        reverse("backlog-detail", args=[cluster.unit.pk]), {"product": other_product.pk}
    )
    assert response.status_code == 200
    assert "Some filters could not be read" in response.content.decode()
