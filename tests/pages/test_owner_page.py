"""An owner's page: their units with the reasons, load against the ceiling, consecutive
snapshots over it, the design problem and the suggested groupings, and a short history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.compute import run_snapshot
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def load_section(html: str) -> str:
    return html.split('id="load"')[1].split("</section>")[0]


def test_owner_at_the_ceiling(viewer_client, owner_person):
    ProductFactory(name="Atlas", owner=owner_person, lifecycle_stage="growth")
    for name in ("Beacon", "Canvas", "Delta"):
        ProductFactory(name=name, owner=owner_person)
    run_snapshot()
    html = viewer_client.get(reverse("person-detail", args=[owner_person.pk])).content.decode()
    load = load_section(html)
    assert "1 of 1 active, 3 of 3 stable: at ceiling." in load
    atlas = load.split(">Atlas</a>")[1].split("</tr>")[0]
    assert "<strong>Active</strong>" in atlas and "Atlas: in growth" in atlas
    assert "Stable" in load.split("Beacon")[1].split("</tr>")[0]
    assert "Design problem" not in load


def test_design_problem_with_suggested_groupings(viewer_client, owner_person):
    ProductFactory(name="Atlas", owner=owner_person, lifecycle_stage="growth")
    ProductFactory(name="Beacon", owner=owner_person, user_groups="Finance staff")
    ProductFactory(name="Canvas", owner=owner_person, user_groups="Finance staff")
    for name in ("Delta", "Echo"):
        ProductFactory(name=name, owner=owner_person)
    run_snapshot()
    run_snapshot()
    html = viewer_client.get(reverse("person-detail", args=[owner_person.pk])).content.decode()
    load = load_section(html)
    assert "1 of 1 active, 4 of 3 stable: over." in load
    assert "Over the ceiling in the last 2 snapshots in a row." in load
    assert "Portfolio design problem." in load
    suggestion = load.split("Suggested groupings")[1]
    assert "<strong>Beacon, Canvas</strong>: same users: finance staff" in suggestion
    history = load.split("Recent snapshots")[1]
    assert history.count("load-over") == 2


def test_no_snapshot_and_not_an_owner(viewer_client, owner_person):
    html = viewer_client.get(reverse("person-detail", args=[owner_person.pk])).content.decode()
    assert "No analytics yet" in load_section(html)
    run_snapshot()
    html = viewer_client.get(reverse("person-detail", args=[owner_person.pk])).content.decode()
    assert "owned no unit in the latest snapshot" in load_section(html)


def _person_with(units: int):
    person = PersonFactory(name="Many Units")
    for i in range(units):
        ProductFactory(owner=person, lifecycle_stage="growth" if i % 3 == 0 else "maturity")
    run_snapshot()
    run_snapshot()
    return person


@pytest.mark.parametrize("units", [2, 12])
def test_owner_page_query_count_is_fixed(units, viewer_client, django_assert_num_queries):
    person = _person_with(units)
    with django_assert_num_queries(OWNER_PAGE_QUERIES):
        assert viewer_client.get(reverse("person-detail", args=[person.pk])).status_code == 200


OWNER_PAGE_QUERIES = 10
