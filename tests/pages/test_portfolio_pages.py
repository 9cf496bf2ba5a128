import pytest
from django.urls import reverse

from portfolio.models import PortfolioSettings
from products.models import Stage
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


# --- clusters -------------------------------------------------------------------------------


def test_cluster_list_flags_a_cluster_without_a_reason(viewer_client, owner_person):
    # given one cluster with a reason and one without
    ClusterFactory(name="Grouped well", owner=owner_person)
    ClusterFactory(name="Just small ones", owner=owner_person, reasons=[])
    # when the list is read
    html = viewer_client.get(reverse("cluster-list")).content.decode()
    # then only the one without a reason is flagged
    assert "No reason given" in html.split("Just small ones")[1].split("</tr>")[0]
    assert "No reason given" not in html.split("Grouped well")[1].split("</tr>")[0]
    assert "Same users" in html


def test_cluster_list_shows_member_count_and_owner(viewer_client, cluster, owner_person):
    ProductFactory(cluster=cluster, owner=owner_person)
    ProductFactory(cluster=cluster, owner=owner_person)
    response = viewer_client.get(reverse("cluster-list"))
    row = response.content.decode().split("Employee experience")[1].split("</tr>")[0]
    assert "Olivia Owner" in row
    assert '<td class="num">2</td>' in row


CLUSTER_LIST_QUERIES = 4  # session, user, leader check, clusters with owners and counts


@pytest.mark.parametrize("rows", [5, 50])
def test_cluster_list_query_count_does_not_grow(
    rows, viewer_client, clusters_of, django_assert_num_queries
):
    clusters_of(rows)
    with django_assert_num_queries(CLUSTER_LIST_QUERIES):
        response = viewer_client.get(reverse("cluster-list"))
    assert len(response.context["clusters"]) == rows


def test_cluster_detail_lists_members_with_their_stages(viewer_client, cluster, owner_person):
    ProductFactory(
        name="Onboarding", cluster=cluster, owner=owner_person, lifecycle_stage=Stage.GROWTH
    )
    html = viewer_client.get(reverse("cluster-detail", args=[cluster.slug])).content.decode()
    members = html.split("<h2>Members</h2>")[1].split("</table>")[0]
    assert "Onboarding" in members and "Growth" in members
    assert "Same users" in html
    assert "Change history" in html
    assert reverse("cluster-members", args=[cluster.slug]) not in html  # viewer: no forms


def test_leader_adds_and_removes_members(leader_client, cluster, product, other_owner_person):
    url = reverse("cluster-members", args=[cluster.slug])
    # when a leader adds the product, it runs in the cluster's unit
    response = leader_client.post(url, {"action": "add", "product": product.pk}, headers=HTMX)
    product.refresh_from_db()
    assert response["HX-Redirect"] == cluster.get_absolute_url()
    assert product.cluster == cluster
    # when the leader takes it out naming a new owner, its own unit wakes under that owner
    leader_client.post(
        url, {"action": "remove", "product": product.pk, "new_owner": other_owner_person.pk}
    )
    product.refresh_from_db()
    assert product.cluster is None
    assert product.owner == other_owner_person


def test_removing_a_product_that_is_not_a_member_is_a_400_partial(leader_client, cluster, product):
    response = leader_client.post(
        reverse("cluster-members", args=[cluster.slug]),
        {"action": "remove", "product": product.pk},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert b"is not a member of Employee experience" in response.content
    assert b"<html" not in response.content


def test_cluster_owner_edits_reasons_but_not_name_slug_or_owner(
    owner_client, leader_client, cluster
):
    url = reverse("cluster-edit", args=[cluster.slug])
    owner_html = owner_client.get(url).content.decode()
    for name in ("name", "slug", "owner"):
        assert f'name="{name}"' not in owner_html
        assert f'name="{name}"' in leader_client.get(url).content.decode()
    response = owner_client.post(
        url,
        {
            "reasons": ["same_domain", "technical_dependency"],
            "reason_note": "One onboarding journey.",
        },
    )
    cluster.refresh_from_db()
    assert response.status_code == 302
    assert cluster.reasons == ["same_domain", "technical_dependency"]


def test_leader_creates_a_cluster(leader_client, owner_person):
    response = leader_client.post(
        reverse("cluster-create"),
        {"name": "Finance tools", "owner": owner_person.pk, "reasons": ["same_domain"]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cluster-detail", args=["finance-tools"])


def test_cluster_create_with_a_taken_name_shows_the_error_inline(leader_client, cluster):
    response = leader_client.post(reverse("cluster-create"), {"name": cluster.name}, headers=HTMX)
    assert response.status_code == 400
    assert "already exists" in response.content.decode().split('name="name"')[1]


# --- people ---------------------------------------------------------------------------------


def test_person_list_warns_when_someone_who_left_still_owns_units(
    viewer_client, departed_person, owner_person
):
    # given a departed person who still owns a product, and an active owner
    ProductFactory(owner=departed_person)
    ProductFactory(owner=owner_person)
    # when the list is read
    html = viewer_client.get(reverse("person-list")).content.decode()
    # then the departed owner's row says so, the active one does not
    assert "Left but still owns 1 unit" in html.split("Dora Departed")[1].split("</tr>")[0]
    assert "still owns" not in html.split("Olivia Owner")[1].split("</tr>")[0]


PERSON_LIST_QUERIES = 4  # session, user, leader check, people with logins and unit counts


@pytest.mark.parametrize("rows", [5, 50])
def test_person_list_query_count_does_not_grow(rows, viewer_client, django_assert_num_queries):
    for i in range(rows):
        person = PersonFactory(active=bool(i % 2), departed_on=None if i % 2 else "2026-01-01")
        ProductFactory(owner=person)
    with django_assert_num_queries(PERSON_LIST_QUERIES):
        response = viewer_client.get(reverse("person-list"))
    assert len(response.context["people"]) == rows


def test_departing_a_person_leaves_their_units_without_an_accountable_owner(
    leader_client, owner_person, product
):
    # when a leader marks the owner as departed
    response = leader_client.post(reverse("person-depart", args=[owner_person.pk]))
    # then the person is departed and the product list warns about their product
    owner_person.refresh_from_db()
    assert response.status_code == 302
    assert owner_person.active is False
    html = leader_client.get(reverse("product-list")).content.decode()
    assert "No accountable owner: left" in html.split("Payroll")[1].split("</tr>")[0]


def test_person_detail_shows_units_and_teams(viewer_client, owner_person, product, cluster):
    TeamFactory(name="People systems", members=[owner_person])
    html = viewer_client.get(reverse("person-detail", args=[owner_person.pk])).content.decode()
    owns = html.split("<h2>Owns</h2>")[1].split("</table>")[0]
    assert "Payroll" in owns and "Employee experience" in owns
    assert "People systems" in html
    assert "Change history" in html


def test_leader_edits_a_person_and_the_email_is_normalised(leader_client, owner_person):
    response = leader_client.post(
        reverse("person-edit", args=[owner_person.pk]),
        {
            "name": "Olivia Owner",
            "email": "Olivia@Example.org ",
            "title": "Head of HR IT",
            "user": owner_person.user_id,
            "active": "on",
        },
    )
    owner_person.refresh_from_db()
    assert response.status_code == 302
    assert owner_person.email == "olivia@example.org"


def test_owner_cannot_edit_people(owner_client, owner_person):
    assert owner_client.get(reverse("person-edit", args=[owner_person.pk])).status_code == 403


# --- teams ----------------------------------------------------------------------------------


TEAM_LIST_QUERIES = 4  # session, user, leader check, teams with member and product counts


@pytest.mark.parametrize("rows", [5, 50])
def test_team_list_query_count_does_not_grow(
    rows, viewer_client, owner_person, django_assert_num_queries
):
    for _ in range(rows):
        ProductFactory(team=TeamFactory(members=[owner_person]), owner=owner_person)
    with django_assert_num_queries(TEAM_LIST_QUERIES):
        response = viewer_client.get(reverse("team-list"))
    assert len(response.context["teams"]) == rows


def test_team_detail_lists_members_and_the_products_it_serves(viewer_client, owner_person):
    team = TeamFactory(name="People systems", slug="people-systems", members=[owner_person])
    ProductFactory(name="Payroll", team=team, owner=owner_person)
    html = viewer_client.get(reverse("team-detail", args=[team.slug])).content.decode()
    assert "Payroll" in html.split("Products it serves")[1]
    assert "Olivia Owner" in html.split("<h2>Members</h2>")[1]


def test_leader_creates_a_team_with_members(leader_client, owner_person):
    response = leader_client.post(
        reverse("team-create"), {"name": "Finance systems", "members": [owner_person.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("team-detail", args=["finance-systems"])


# --- settings, token, health, login ---------------------------------------------------------


def test_viewer_reads_settings_with_explanations_but_no_inputs(viewer_client):
    html = viewer_client.get(reverse("settings")).content.decode()
    assert "Actively evolving units one owner may carry." in html
    assert "Weekly snapshots that must show crowding" in html  # help the model leaves out
    assert 'name="max_active_units"' not in html


def test_leader_changes_a_threshold(leader_client):
    html = leader_client.get(reverse("settings")).content.decode()
    assert 'name="max_active_units"' in html
    data = {
        f: getattr(PortfolioSettings.load(), f)
        for f in (
            "max_active_units",
            "max_stable_units",
            "triaging_active_units",
            "design_problem_consecutive",
            "crowding_share_pct",
            "crowding_top_items",
            "crowding_idle_days",
            "crowding_snapshots_required",
            "crowding_snapshots_window",
            "dominance_share_pct",
            "dominance_fair_share_multiple",
            "dominance_window_days",
            "governance_threshold",
            "currency",
            "orphan_item_age_days",
            "orphan_review_quarters",
            "candidates_shown",
            "metrics_min",
            "metrics_max",
            "stale_interval_multiple",
            "review_reminder_days",
        )
    }
    response = leader_client.post(reverse("settings"), {**data, "max_stable_units": 4})
    assert response.status_code == 302
    assert PortfolioSettings.load().max_stable_units == 4
    bad = leader_client.post(
        reverse("settings"), {**data, "metrics_min": 9, "metrics_max": 2}, headers=HTMX
    )
    assert bad.status_code == 400
    assert b"form-errors" in bad.content


def test_viewer_cannot_change_settings(viewer_client):
    assert viewer_client.post(reverse("settings"), {"max_active_units": 5}).status_code == 403


def test_healthz_needs_no_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_login_page_renders_and_signs_in(client, leader):
    page = client.get(reverse("login"))
    assert b"Sign in" in page.content
    response = client.post(reverse("login"), {"username": "leader", "password": "pass-word-123"})
    assert response.status_code == 302


def test_nav_shows_settings_to_leaders_only(leader_client, viewer_client):
    link = f'href="{reverse("settings")}"'.encode()
    assert link in leader_client.get(reverse("product-list")).content
    assert link not in viewer_client.get(reverse("product-list")).content
