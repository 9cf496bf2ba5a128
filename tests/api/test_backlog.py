"""/api/v1/backlog-items/: reads, writes through the services, moves, and concurrency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from backlog.models import BacklogItem
from products.models import Stage
from tests.api.conftest import client_for
from tests.backlog.factories import BacklogItemFactory, make_backlog, titles
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api-backlog-item-list")


def detail(item) -> str:
    return reverse("api-backlog-item-detail", args=[item.pk])


def move(item) -> str:
    return reverse("api-backlog-item-move", args=[item.pk])


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- create, read, list, filter ------------------------------------------------------------------


def test_create_puts_the_item_in_the_products_unit_backlog(as_owner, product):
    # given a backlog with one item
    BacklogItemFactory(product=product, title="Existing")

    # when the owner adds one at the top, naming the product by slug
    response = as_owner.post(
        LIST,
        {
            "product": "payroll",
            "title": "Payslips by email",
            "type": "enhancement",
            "dimension": "support",
            "estimate": "2.5",
            "source": "support_pattern",
            "position": "top",
        },
        format="json",
    )

    # then it is stored in the product's unit, first, with the body the API promises
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["unit"] == product.unit_id
    assert body["unit_name"] == "Payroll"
    assert body["product"] == "payroll"
    assert body["estimate"] == "2.5"
    assert body["status"] == "proposed"
    assert body["version"] == 1
    assert body["age_days"] == 0 and body["days_since_touched"] == 0
    assert "position" not in body
    assert titles(product.unit) == ["Payslips by email", "Existing"]


def test_create_by_product_id_lands_at_the_bottom(as_owner, product):
    BacklogItemFactory(product=product, title="Existing")
    response = as_owner.post(LIST, {"product": product.pk, "title": "Last"}, format="json")
    assert response.status_code == 201
    assert titles(product.unit) == ["Existing", "Last"]


def test_create_in_a_cluster_uses_the_clusters_backlog(as_owner, cluster, owner_person):
    member = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    response = as_owner.post(LIST, {"product": "onboarding", "title": "Buddy"}, format="json")
    assert response.status_code == 201
    assert response.json()["unit"] == cluster.unit.pk
    assert response.json()["unit_name"] == "Employee experience"
    assert BacklogItem.objects.get().product == member


def test_retrieve_and_list_in_unit_then_rank_order(as_viewer, product, other_product):
    a, b = make_backlog(product, 2)
    c = BacklogItemFactory(product=other_product)
    top = BacklogItemFactory(product=product, position="top", title="Top")

    response = as_viewer.get(LIST)

    assert response.status_code == 200
    first_unit, second_unit = sorted([product.unit_id, other_product.unit_id])
    expected_by_unit = {product.unit_id: [top.pk, a.pk, b.pk], other_product.unit_id: [c.pk]}
    assert ids(response) == expected_by_unit[first_unit] + expected_by_unit[second_unit]
    one = as_viewer.get(detail(a)).json()
    assert one == next(r for r in response.json()["results"] if r["id"] == a.pk)


def test_list_filters(as_viewer, product, other_product):
    fix = BacklogItemFactory(product=product, type="fix", title="Fix the payslip rounding")
    ready = BacklogItemFactory(product=product, status="ready", dimension="operations")
    done = BacklogItemFactory(product=product, status="done")
    other = BacklogItemFactory(product=other_product)

    def got(query: str) -> list[int]:
        response = as_viewer.get(LIST + query)
        assert response.status_code == 200, response.json()
        return ids(response)

    assert got(f"?unit={other_product.unit_id}") == [other.pk]
    assert got("?product=payroll") == [fix.pk, ready.pk, done.pk]
    assert got(f"?product={other_product.pk}") == [other.pk]
    assert got("?status=ready&status=done") == [ready.pk, done.pk]
    assert got("?type=fix") == [fix.pk]
    assert got("?dimension=operations") == [ready.pk]
    assert got("?q=ROUNDING") == [fix.pk]
    assert got("?product=nothing-here") == []


def test_updated_since(as_viewer, product):
    old = BacklogItemFactory(product=product)
    new = BacklogItemFactory(product=product)
    long_ago = timezone.now() - dt.timedelta(days=30)
    BacklogItem.objects.filter(pk=old.pk).update(updated_at=long_ago, created_at=long_ago)

    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    response = as_viewer.get(LIST, {"updated_since": since})

    assert ids(response) == [new.pk]
    every = as_viewer.get(LIST).json()["results"]
    assert [r["days_since_touched"] for r in every] == [30, 0]
    assert [r["age_days"] for r in every] == [30, 0]


@pytest.mark.parametrize(
    "query, field",
    [
        ("?updated_since=yesterday", "updated_since"),
        ("?status=maybe", "status"),
        ("?type=chore", "type"),
        ("?unit=abc", "unit"),
        ("?unit=99999999999999999999999", "unit"),
        ("?product=no%20spaces", "product"),
    ],
)
def test_bad_filters_are_400_naming_the_filter(as_viewer, query, field):
    response = as_viewer.get(LIST + query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("size", [5, 50])
def test_list_query_count_is_flat(size, viewer, cluster, django_assert_num_queries):
    # given items in a cluster backlog and in single-product backlogs
    for i in range(size):
        in_cluster = bool(i % 2)
        p = ProductFactory(cluster=cluster if in_cluster else None, owner=PersonFactory())
        BacklogItemFactory(product=p, estimate="1.5")
    client = client_for(viewer)
    client.get(LIST)  # warm up: session, content types

    # then the page costs the pagination count and the rows, whatever its size
    with django_assert_num_queries(2):
        response = client.get(LIST, {"page_size": 100})
    assert len(response.json()["results"]) == size


def test_the_lists_count_reads_the_items_alone(
    as_viewer, product, other_product, django_assert_num_queries
):
    # given ready and done items in two backlogs
    ready = [BacklogItemFactory(product=product, status="ready") for _ in range(3)]
    BacklogItemFactory(product=product, status="done")
    BacklogItemFactory(product=other_product, status="ready")
    as_viewer.get(LIST)  # warm up

    # when a page of the ready items of one backlog is asked for, smaller than the list
    with django_assert_num_queries(2) as queries:
        response = as_viewer.get(LIST, {"unit": product.unit_id, "status": "ready", "page_size": 2})

    # then the count is of the filtered items, from the items table without the rows' joins
    # (with them, PostgreSQL fetched every matching row to join it: 114 ms at XL, not 2 ms)
    body = response.json()
    assert body["count"] == 3 and body["next"] is not None
    assert ids(response) == [r.pk for r in ready[:2]]
    count = queries.captured_queries[0]["sql"]
    assert count.startswith("SELECT COUNT(*)") and "JOIN" not in count
    assert '"status" IN' in count and '"unit_id" =' in count


# --- edits and optimistic concurrency ------------------------------------------------------------


def test_patch_with_current_version(as_owner, product):
    item = BacklogItemFactory(product=product)
    response = as_owner.patch(detail(item), {"status": "in_progress", "version": 1}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "in_progress"
    assert body["version"] == 2
    assert body["started_at"] is not None


def test_stale_edit_is_412_with_both_versions_and_changes_nothing(as_owner, product):
    # given an item someone else changed since version 1
    item = BacklogItemFactory(product=product, title="Original")
    BacklogItem.objects.filter(pk=item.pk).update(version=2, title="Theirs")

    # when the owner edits version 1
    response = as_owner.patch(detail(item), {"title": "Mine", "version": 1}, format="json")

    # then 412 names the conflict and carries the item as stored and what was sent
    assert response.status_code == 412
    body = response.json()
    assert body["code"] == "stale_version"
    assert body["detail"]
    assert body["current"]["title"] == "Theirs"
    assert body["current"]["version"] == 2
    assert body["yours"] == {"title": "Mine", "version": 1}
    item.refresh_from_db()
    assert (item.title, item.version) == ("Theirs", 2)


def test_if_match_header_carries_the_version(as_owner, product):
    item = BacklogItemFactory(product=product)
    BacklogItem.objects.filter(pk=item.pk).update(version=3)

    stale = as_owner.patch(detail(item), {"title": "Mine"}, format="json", HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412
    assert stale.json()["yours"]["version"] == 2
    assert stale.json()["current"]["version"] == 3

    fresh = as_owner.patch(detail(item), {"title": "Mine"}, format="json", HTTP_IF_MATCH='"3"')
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 4

    bad = as_owner.patch(detail(item), {"title": "x"}, format="json", HTTP_IF_MATCH="latest")
    assert bad.status_code == 400
    assert "If-Match" in bad.json()["errors"]

    clash = as_owner.patch(
        detail(item), {"title": "x", "version": 4}, format="json", HTTP_IF_MATCH='"3"'
    )
    assert clash.status_code == 400
    assert "version" in clash.json()["errors"]


def test_put_replaces_the_fields(as_owner, product):
    item = BacklogItemFactory(product=product, description="Old", estimate="3.0")
    response = as_owner.put(
        detail(item), {"product": "payroll", "title": "Whole new", "estimate": None}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Whole new"
    assert response.json()["estimate"] is None


def test_put_needs_the_title_and_product(as_owner, product):
    item = BacklogItemFactory(product=product)
    response = as_owner.put(detail(item), {"status": "ready"}, format="json")
    assert response.status_code == 400
    assert {"title", "product"} <= set(response.json()["errors"])


def test_invalid_status_is_400_naming_the_field(as_owner, product):
    item = BacklogItemFactory(product=product)
    response = as_owner.patch(detail(item), {"status": "someday"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    created = as_owner.post(
        LIST, {"product": "payroll", "title": "x", "status": "someday"}, format="json"
    )
    assert created.status_code == 400
    assert "status" in created.json()["errors"]


def test_unknown_product_is_400_naming_the_field(as_owner, product):
    response = as_owner.post(LIST, {"product": "nope", "title": "x"}, format="json")
    assert response.status_code == 400
    assert "product" in response.json()["errors"]


def test_component_from_another_unit_is_refused(as_leader, product, other_product):
    item = BacklogItemFactory(product=product)
    response = as_leader.patch(detail(item), {"product": "intranet"}, format="json")
    assert response.status_code == 400
    assert "product" in response.json()["errors"]


def test_frozen_backlog_of_a_retired_product_is_refused_with_the_rule(as_leader, product):
    # given an item on a product that has since been retired
    item = BacklogItemFactory(product=product, title="Before retirement")
    product.__class__.objects.filter(pk=product.pk).update(lifecycle_stage=Stage.RETIRED)

    created = as_leader.post(LIST, {"product": "payroll", "title": "Too late"}, format="json")
    changed = as_leader.patch(detail(item), {"title": "Too late"}, format="json")

    for response in (created, changed):
        assert response.status_code == 409
        assert response.json()["rule"] == "backlog_frozen"
        assert "product" in response.json()["errors"]
    assert list(BacklogItem.objects.values_list("title", flat=True)) == ["Before retirement"]


def test_delete(as_owner, product):
    item = BacklogItemFactory(product=product)
    assert as_owner.delete(detail(item)).status_code == 204
    assert not BacklogItem.objects.exists()
    assert as_owner.get(detail(item)).status_code == 404


# --- moves -----------------------------------------------------------------------------------


@pytest.fixture
def abcd(product):
    return make_backlog(product, 4, prefix="")


def _titles(product) -> list[str]:
    return [t.strip() for t in titles(product.unit)]


def test_move_before(as_owner, product, abcd):
    first, _, _, last = abcd
    response = as_owner.post(move(last), {"before": first.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["rows_written"] == 1
    assert response.json()["item"]["id"] == last.pk
    assert _titles(product) == ["3", "0", "1", "2"]


def test_move_after(as_owner, product, abcd):
    first, second, third, _ = abcd
    response = as_owner.post(move(first), {"after": third.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["rows_written"] == 1
    assert _titles(product) == ["1", "2", "0", "3"]


def test_move_to_position(as_owner, product, abcd):
    response = as_owner.post(move(abcd[0]), {"position": 2}, format="json")
    assert response.status_code == 200
    assert response.json()["rows_written"] == 1
    assert _titles(product) == ["1", "2", "0", "3"]
    listed = as_owner.get(LIST, {"unit": product.unit_id}).json()["results"]
    assert [r["title"].strip() for r in listed] == ["1", "2", "0", "3"]
    assert response.json()["item"]["rank"] == next(
        r["rank"] for r in listed if r["id"] == abcd[0].pk
    )


@pytest.mark.parametrize(
    "data, field",
    [
        ({"before": 999999}, "before"),
        ({"after": 999999}, "after"),
        ({"position": -1}, "position"),
        ({"position": "top"}, "position"),
        ({"before": 1, "position": 0}, "non_field_errors"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_moves_are_400_naming_the_field(as_owner, product, abcd, data, field):
    response = as_owner.post(move(abcd[0]), data, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert _titles(product) == ["0", "1", "2", "3"]


def test_move_next_to_an_item_of_another_backlog_is_400(as_leader, product, other_product, abcd):
    stranger = BacklogItemFactory(product=other_product)
    response = as_leader.post(move(abcd[0]), {"after": stranger.pk}, format="json")
    assert response.status_code == 400
    assert "not in the same backlog" in response.json()["errors"]["after"][0]
    assert _titles(product) == ["0", "1", "2", "3"]


def test_viewer_may_not_move(as_viewer, product, abcd):
    response = as_viewer.post(move(abcd[0]), {"position": 3}, format="json")
    assert response.status_code == 403
    assert response.json()["rule"] == "unit_owner_or_leader"


def test_a_product_reference_with_a_nul_byte_is_a_400_not_a_500(owner):
    from tests.backlog.factories import BacklogItemFactory
    from tests.conftest import api_as
    from tests.products.factories import ProductFactory

    item = BacklogItemFactory(product=ProductFactory(owner=owner.person))
    response = api_as(owner).put(
        f"/api/v1/backlog-items/{item.pk}/",
        {"product": '"\x00', "title": "x", "version": item.version},
        format="json",
    )
    assert response.status_code == 400
    assert "product" in response.json()["errors"]
