import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from backlog import services
from backlog.models import BacklogItem, ItemStatus
from products.models import Stage
from tests.pages.conftest import HTMX
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def backlog_url(unit_id, query=""):
    return reverse("backlog-detail", args=[unit_id]) + query


def move_url(item):
    return reverse("backlog-move", args=[item.pk])


def edit_url(item):
    return reverse("backlog-edit", args=[item.pk])


def add(actor, product, title, **fields):
    return services.backlog_item_create(actor=actor, product=product, title=title, **fields)


def titles(unit_id) -> list[str]:
    return list(
        BacklogItem.objects.filter(unit_id=unit_id).order_by("rank").values_list("title", flat=True)
    )


def shown(response) -> list[str]:
    return [item.title for item in response.context["page"].object_list]


@pytest.fixture
def components(owner_person, cluster):
    """Two members of the owner's cluster."""
    return (
        ProductFactory(name="Onboarding", cluster=cluster, owner=owner_person),
        ProductFactory(name="Leave planner", cluster=cluster, owner=owner_person),
    )


@pytest.fixture
def abc(owner, product):
    """Items A, B, C in that order in the backlog of `product`."""
    return [add(owner, product, t) for t in "ABC"]


# --- content ---------------------------------------------------------------------------------


def test_cluster_backlog_is_one_order_across_components_with_ages(
    viewer_client, owner, cluster, components
):
    # given items of both members, interleaved, one created 30 days ago and untouched for 12
    onboarding, leave = components
    add(owner, onboarding, "Faster badge printing", type="enhancement", estimate=3)
    old = add(owner, leave, "Carry over leave", dimension="support", source="incident")
    add(owner, onboarding, "Welcome mail", position="top")
    BacklogItem.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=30),
        updated_at=timezone.now() - dt.timedelta(days=12),
    )

    # when a viewer reads the cluster's backlog
    response = viewer_client.get(backlog_url(cluster.unit.pk))

    # then it is one list in rank order, each row naming its component, with its age columns
    assert response.status_code == 200
    assert shown(response) == ["Welcome mail", "Faster badge printing", "Carry over leave"]
    rows = response.context["page"].object_list
    assert [r.product.name for r in rows] == ["Onboarding", "Onboarding", "Leave planner"]
    assert [r.position for r in rows] == [1, 2, 3]
    assert (rows[2].age_days, rows[2].idle_days) == (30, 12)
    html = response.content.decode()
    for header in ("Component", "Type", "Dimension", "Status", "Estimate", "Source", "Age"):
        assert header in html
    assert "Untouched (d)" in html and "Leave planner" in html and "Incident" in html
    # and a viewer gets no drag handles, order buttons, create or bulk forms
    assert "drag-handle" not in html and 'id="bulk-form"' not in html
    assert "backlog-create" not in html


def test_editors_get_handles_order_buttons_and_forms(owner_client, abc, product):
    response = owner_client.get(backlog_url(product.unit_id))
    html = response.content.decode()
    assert html.count('class="drag-handle"') == 3
    assert 'aria-label="Move A to the top"' in html
    assert 'id="bulk-form"' in html and 'id="backlog-create"' in html
    assert "vendor/Sortable.min.js" in html


def test_filters_narrow_the_list_in_place_and_keep_whole_backlog_positions(
    owner_client, owner, cluster, components
):
    onboarding, leave = components
    add(owner, onboarding, "Badge fix", type="fix")
    add(owner, leave, "Leave fix", type="fix", status=ItemStatus.DONE)
    add(owner, leave, "Leave report", dimension="operations")
    url = backlog_url(cluster.unit.pk)

    by_component = owner_client.get(url + f"?product={leave.pk}")
    assert shown(by_component) == ["Leave fix", "Leave report"]
    assert [r.position for r in by_component.context["page"].object_list] == [2, 3]
    assert shown(owner_client.get(url + "?type=fix")) == ["Badge fix", "Leave fix"]
    assert shown(owner_client.get(url + "?dimension=operations")) == ["Leave report"]
    assert shown(owner_client.get(url + "?status=open")) == ["Badge fix", "Leave report"]
    assert shown(owner_client.get(url + "?status=done")) == ["Leave fix"]
    assert shown(owner_client.get(url + "?q=REPORT")) == ["Leave report"]

    # an htmx filter answers with the list fragment only, and says it varies
    partial = owner_client.get(url + "?type=fix", headers=HTMX)
    assert partial.status_code == 200
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="backlog-list"') and "<html" not in body


def test_bad_filter_values_are_shown_not_a_500(viewer_client, product, abc):
    response = viewer_client.get(backlog_url(product.unit_id, "?type=nope&product=not+a+slug"))
    assert response.status_code == 200
    assert shown(response) == ["A", "B", "C"]
    assert "Some filters could not be read" in response.content.decode()


def test_page_shows_100_items_and_links_to_the_next_page(viewer_client, owner, product):
    for i in range(101):
        add(owner, product, f"Item {i:03d}")
    response = viewer_client.get(backlog_url(product.unit_id))
    assert len(shown(response)) == 100
    assert "Page 1 of 2" in response.content.decode()
    second = viewer_client.get(backlog_url(product.unit_id, "?page=2"))
    assert shown(second) == ["Item 100"]
    assert second.context["page"].object_list[0].position == 101


# --- moves -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "data", "order"),
    [
        ("top", {"position": "top"}, "CAB"),
        ("bottom", {"position": "bottom"}, "ABC"),
        ("up one", {"position": "1"}, "ACB"),  # C was at index 2
        ("before A", {"before": "A"}, "CAB"),
        ("after A", {"after": "A"}, "ACB"),
    ],
)
def test_plain_posts_move_an_item_and_return_to_the_list(
    owner_client, product, abc, what, data, order
):
    a, b, c = abc
    ids = {"A": a.pk, "B": b.pk, "C": c.pk}
    data = {k: ids.get(v, v) for k, v in data.items()}
    response = owner_client.post(move_url(c) + "?status=open", data)
    assert response.status_code == 302
    assert response["Location"] == backlog_url(product.unit_id, "?status=open")
    assert "".join(titles(product.unit_id)) == order


def test_down_one_and_htmx_move_answer_with_the_stored_list(owner_client, product, abc):
    a, b, c = abc
    # the down button of A (position 1) sends its 1-based position, i.e. index 1
    response = owner_client.post(move_url(a), {"position": "1"}, headers=HTMX)
    assert response.status_code == 200
    assert shown(response) == ["B", "A", "C"]
    assert titles(product.unit_id) == ["B", "A", "C"]
    assert "<html" not in response.content.decode()


def test_a_move_against_an_item_of_another_backlog_is_refused(
    owner_client, owner, product, abc, other_product, leader
):
    elsewhere = add(leader, other_product, "Elsewhere")
    response = owner_client.post(move_url(abc[0]), {"before": elsewhere.pk}, headers=HTMX)
    assert response.status_code == 400
    assert "not in the same backlog" in response.content.decode()
    assert titles(product.unit_id) == ["A", "B", "C"]


def test_a_move_needs_exactly_one_anchor(owner_client, abc):
    response = owner_client.post(move_url(abc[0]), {"position": "0", "before": abc[1].pk})
    assert response.status_code == 400


# --- create and edit -------------------------------------------------------------------------


def test_inline_create_at_top_answers_with_a_fresh_form_and_the_list(owner_client, product, abc):
    data = {
        "title": "Urgent",
        "product": product.pk,
        "type": "fix",
        "dimension": "support",
        "estimate": "1.5",
        "source": "incident",
        "position": "top",
    }
    response = owner_client.post(
        reverse("backlog-create", args=[product.unit_id]), data, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="backlog-create"' in html and 'hx-swap-oob="true"' in html
    assert titles(product.unit_id) == ["Urgent", "A", "B", "C"]
    assert BacklogItem.objects.get(title="Urgent").source == "incident"


def test_create_on_a_retired_component_shows_the_rule(owner_client, owner, cluster, components):
    onboarding, leave = components
    leave.lifecycle_stage = Stage.RETIRED
    leave.save()
    data = {
        "title": "Too late",
        "product": leave.pk,
        "type": "fix",
        "dimension": "support",
        "source": "incident",
        "position": "bottom",
    }
    response = owner_client.post(
        reverse("backlog-create", args=[cluster.unit.pk]), data, headers=HTMX
    )
    assert response.status_code == 409
    assert "backlog_frozen" in response.content.decode()
    assert not BacklogItem.objects.filter(title="Too late").exists()


def edit_data(item, **changes):
    data = {
        "title": item.title,
        "product": item.product_id,
        "type": item.type,
        "dimension": item.dimension,
        "status": item.status,
        "estimate": "" if item.estimate is None else str(item.estimate),
        "source": item.source,
        "description": item.description,
        "version": item.version,
    }
    return {**data, **changes}


def test_inline_edit_swaps_the_row_into_a_form_and_back(owner_client, abc):
    a = abc[0]
    form = owner_client.get(edit_url(a), headers=HTMX)
    assert form.status_code == 200
    html = form.content.decode()
    assert html.lstrip().startswith(f'<tr id="item-{a.pk}"')
    assert 'name="version"' in html and f'value="{a.version}"' in html

    saved = owner_client.post(edit_url(a), edit_data(a, status="in_progress"), headers=HTMX)
    assert saved.status_code == 200
    assert saved.content.decode().lstrip().startswith(f'<tr id="item-{a.pk}" data-item')
    a.refresh_from_db()
    assert (a.status, a.version) == ("in_progress", 2)
    assert a.started_at is not None


def test_a_stale_edit_shows_both_versions_and_keeps_the_stored_one(owner_client, owner, abc):
    # given the owner opened A at version 1, and someone else renamed it since
    a = abc[0]
    services.backlog_item_update(actor=owner, item=a, title="A (theirs)", status="ready")

    # when the old form is submitted
    response = owner_client.post(
        edit_url(a), edit_data(a, title="A (mine)", version=1), headers=HTMX
    )

    # then nothing is overwritten, and both versions are shown with a way to re-apply or discard
    assert response.status_code == 409
    html = response.content.decode()
    assert "A (mine)" in html and "A (theirs)" in html
    assert "Re-apply mine" in html and "Discard mine" in html
    assert "stale_version" not in html
    assert "Changed by Olivia Owner" in html and "since you opened it" in html
    assert 'name="version" value="2"' in html  # re-applying is against the stored version
    a.refresh_from_db()
    assert (a.title, a.status, a.version) == ("A (theirs)", "ready", 2)

    # and re-applying saves theirs over ours knowingly
    again = owner_client.post(edit_url(a), edit_data(a, title="A (mine)", version=2), headers=HTMX)
    assert again.status_code == 200
    a.refresh_from_db()
    assert (a.title, a.version) == ("A (mine)", 3)


def test_plain_edit_page_works_without_javascript(owner_client, product, abc):
    a = abc[0]
    page = owner_client.get(edit_url(a))
    assert page.status_code == 200 and "<html" in page.content.decode()
    response = owner_client.post(edit_url(a), edit_data(a, title="A2"))
    assert response.status_code == 302
    assert titles(product.unit_id)[0] == "A2"


def test_row_fragment_is_what_cancel_swaps_back(viewer_client, abc):
    response = viewer_client.get(reverse("backlog-item", args=[abc[1].pk]), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="item-{abc[1].pk}"') and "drag-handle" not in html
    assert '<td class="num pos">2</td>' in html


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_set_status(owner_client, product, abc):
    a, b, c = abc
    url = reverse("backlog-bulk", args=[product.unit_id])
    response = owner_client.post(
        url, {"action": "status", "status": "ready", "items": [a.pk, c.pk]}
    )
    assert response.status_code == 302
    statuses = dict(BacklogItem.objects.values_list("title", "status"))
    assert statuses == {"A": "ready", "B": "proposed", "C": "ready"}


def test_bulk_set_component_and_move_to_top(owner_client, owner, cluster, components):
    onboarding, leave = components
    items = [add(owner, onboarding, t) for t in "ABCD"]
    url = reverse("backlog-bulk", args=[cluster.unit.pk])
    data = {"action": "component", "component": leave.pk, "items": [items[1].pk, items[3].pk]}
    response = owner_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    assert set(BacklogItem.objects.filter(product=leave).values_list("title", flat=True)) == {
        "B",
        "D",
    }

    data = {"action": "top", "items": [items[3].pk, items[2].pk]}
    response = owner_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    assert titles(cluster.unit.pk) == ["C", "D", "A", "B"]  # the selection keeps its own order
    assert shown(response) == ["C", "D", "A", "B"]


def test_bulk_refuses_items_of_another_backlog(owner_client, leader, product, abc, other_product):
    elsewhere = add(leader, other_product, "Elsewhere")
    url = reverse("backlog-bulk", args=[product.unit_id])
    data = {"action": "status", "status": "done", "items": [abc[0].pk, elsewhere.pk]}
    response = owner_client.post(url, data, headers=HTMX)
    assert response.status_code == 400
    assert not BacklogItem.objects.filter(status="done").exists()


def test_bulk_needs_a_selection_and_a_value(owner_client, product, abc):
    url = reverse("backlog-bulk", args=[product.unit_id])
    assert owner_client.post(url, {"action": "status", "items": [abc[0].pk]}).status_code == 400
    assert owner_client.post(url, {"action": "top"}).status_code == 400


# --- permissions on writes -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "other_owner"])
def test_viewers_and_other_owners_cannot_write(who, request, client_as, product, abc):
    client = client_as(request.getfixturevalue(who))
    a = abc[0]
    unit_id = product.unit_id
    attempts = [
        (move_url(a), {"position": "bottom"}),
        (edit_url(a), edit_data(a, title="Hijacked")),
        (reverse("backlog-bulk", args=[unit_id]), {"action": "top", "items": [a.pk]}),
        (reverse("backlog-create", args=[unit_id]), {"title": "X", "product": product.pk}),
    ]
    for url, data in attempts:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, headers=HTMX).status_code == 403, url
    assert client.get(edit_url(a)).status_code == 403
    assert titles(unit_id) == ["A", "B", "C"]


# --- query counts ----------------------------------------------------------------------------

# Session, user, leader check, unit (with owner, cluster, product), components, count, page of
# items with their component and position.
BACKLOG_QUERIES = 7


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("as_owner", [False, True])
def test_backlog_query_count_does_not_grow(
    rows,
    as_owner,
    owner_client,
    viewer_client,
    owner,
    cluster,
    components,
    django_assert_num_queries,
):
    for i in range(rows):
        add(owner, components[i % 2], f"Item {i}")
    client = owner_client if as_owner else viewer_client
    with django_assert_num_queries(BACKLOG_QUERIES):
        response = client.get(backlog_url(cluster.unit.pk))
    assert len(shown(response)) == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_product_backlog_section_lists_its_top_open_items(
    rows, viewer_client, owner, cluster, components
):
    onboarding, leave = components
    for i in range(rows):
        add(owner, onboarding if i % 2 else leave, f"Item {i}")
    add(owner, onboarding, "Done already", status="done", position="top")
    response = viewer_client.get(reverse("product-detail", args=[onboarding.slug]))
    html = response.content.decode()
    assert "Done already" not in html
    expected = [f"Item {i}" for i in range(rows) if i % 2][:10]
    section = html.split('id="product-backlog-title"')[1].split("</section>")[0]
    assert [
        line.split("<li>")[1].split(" <span")[0] for line in section.split("\n") if "<li>" in line
    ] == expected
    assert backlog_url(cluster.unit.pk, f"?product={onboarding.pk}") in section
