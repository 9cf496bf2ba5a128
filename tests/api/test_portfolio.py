"""Clusters, people, teams, units and the settings through /api/v1/."""

import pytest
from django.urls import reverse

from portfolio.models import PortfolioSettings
from products.models import Cluster, OwnershipUnit, Person
from tests.api.conftest import client_for
from tests.portfolio.factories import ClusterFactory, UserFactory
from tests.products.factories import ProductFactory


@pytest.mark.django_db
class TestClusters:
    def test_output_and_the_has_reason_filter(self, as_viewer, cluster, owner_person):
        ProductFactory(slug="member", cluster=cluster, owner=owner_person)
        ClusterFactory(name="Loose", slug="loose", reasons=[])
        url = reverse("api-cluster-list")

        flagged = as_viewer.get(url, {"has_reason": "false"}).json()["results"]
        with_reason = as_viewer.get(url, {"has_reason": "true"}).json()["results"]

        assert [c["slug"] for c in flagged] == ["loose"]
        assert flagged[0]["flagged_without_reason"] is True
        assert [c["slug"] for c in with_reason] == ["employee-experience"]
        assert with_reason[0]["members"] == ["member"]
        assert with_reason[0]["owner"]["name"] == "Olivia Owner"
        assert with_reason[0]["reasons"] == ["same_users"]

    def test_a_leader_creates_renames_and_dissolves(self, as_leader, owner_person):
        created = as_leader.post(
            reverse("api-cluster-list"),
            {
                "name": "Finance",
                "reasons": ["same_domain"],
                "owner": owner_person.pk,
            },
            format="json",
        )
        assert created.status_code == 201, created.json()
        url = reverse("api-cluster-detail", args=[created.json()["id"]])
        renamed = as_leader.patch(url, {"name": "Money"}, format="json")
        assert renamed.json()["name"] == "Money"
        assert as_leader.delete(url).status_code == 204
        assert not Cluster.objects.filter(name="Money").exists()

    def test_the_owner_describes_but_does_not_rename(self, owner, cluster):
        url = reverse("api-cluster-detail", args=[cluster.pk])
        client = client_for(owner)
        ok = client.patch(
            url, {"description": "HR tools", "reasons": ["same_domain"]}, format="json"
        )
        assert ok.status_code == 200
        assert ok.json()["reasons"] == ["same_domain"]
        assert client.patch(url, {"name": "Mine"}, format="json").status_code == 403
        assert client.delete(url).status_code == 403

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"name": "X", "reasons": ["they are small"]}, "reasons.0"),
            ({"name": "X", "reasons": "same_users"}, "reasons"),
            ({"name": "X", "owner": 10**12}, "owner"),
            ({"name": "X", "slug": "not a slug"}, "slug"),
            ({"name": ""}, "name"),
        ],
    )
    def test_bad_input_names_the_field(self, as_leader, data, field):
        response = as_leader.post(reverse("api-cluster-list"), data, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()

    def test_members_join_and_leave(
        self, as_leader, cluster, product, other_product, other_owner_person
    ):
        url = reverse("api-cluster-members", args=[cluster.pk])

        joined = as_leader.post(url, {"add": ["payroll", other_product.pk]}, format="json")

        assert joined.status_code == 200, joined.json()
        assert joined.json()["members"] == ["intranet", "payroll"]
        left = as_leader.post(
            url, {"remove": ["intranet"], "new_owner": other_owner_person.pk}, format="json"
        )
        assert left.json()["members"] == ["payroll"]
        other_product.refresh_from_db()
        assert other_product.unit.kind == "product"
        assert other_product.unit.owner == other_owner_person

    def test_members_errors_name_the_field(self, as_leader, cluster, product):
        url = reverse("api-cluster-members", args=[cluster.pk])
        assert "add" in as_leader.post(url, {"add": ["ghost"]}, format="json").json()["errors"]
        not_member = as_leader.post(url, {"remove": ["payroll"]}, format="json")
        assert "remove" in not_member.json()["errors"]

    def test_members_are_for_leaders(self, owner, cluster, product):
        url = reverse("api-cluster-members", args=[cluster.pk])
        assert client_for(owner).post(url, {"add": ["payroll"]}, format="json").status_code == 403


@pytest.mark.django_db
class TestPeopleAndTeams:
    def test_people_output(self, as_viewer, product, owner_person):
        body = as_viewer.get(reverse("api-person-detail", args=[owner_person.pk])).json()
        assert body["username"] == "owner"
        assert body["units_owned"] == 1
        assert body["active"] is True and body["departed_on"] is None

    def test_a_leader_adds_and_departs_a_person(self, as_leader):
        UserFactory(username="sam")
        created = as_leader.post(
            reverse("api-person-list"),
            {
                "name": "Sam",
                "email": "Sam@Example.org",
                "username": "sam",
            },
            format="json",
        )
        assert created.status_code == 201, created.json()
        assert created.json()["email"] == "sam@example.org"
        url = reverse("api-person-detail", args=[created.json()["id"]])
        departed = as_leader.patch(url, {"active": False}, format="json").json()
        assert departed["active"] is False and departed["departed_on"] is not None

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"name": "A", "email": "not-an-email"}, "email"),
            ({"name": "A", "email": "a@example.org", "username": "nobody"}, "username"),
            ({"name": "A", "email": "a@example.org", "departed_on": "yesterday"}, "departed_on"),
            ({"name": "A" * 121, "email": "a@example.org"}, "name"),
        ],
    )
    def test_bad_person_input(self, as_leader, data, field):
        response = as_leader.post(reverse("api-person-list"), data, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()

    def test_duplicate_email_names_the_field(self, as_leader, owner_person):
        response = as_leader.post(
            reverse("api-person-list"), {"name": "B", "email": owner_person.email}, format="json"
        )
        assert response.status_code == 400
        assert "email" in response.json()["errors"]

    def test_people_and_teams_are_written_by_leaders(self, as_owner, owner_person):
        assert (
            as_owner.post(
                reverse("api-person-list"), {"name": "X", "email": "x@e.org"}, format="json"
            ).status_code
            == 403
        )
        assert (
            as_owner.post(reverse("api-team-list"), {"name": "X"}, format="json").status_code == 403
        )

    def test_teams(self, as_leader, owner_person):
        created = as_leader.post(
            reverse("api-team-list"),
            {"name": "Core apps", "members": [owner_person.pk]},
            format="json",
        )
        assert created.status_code == 201
        assert created.json()["slug"] == "core-apps"
        assert created.json()["members"] == [owner_person.pk]
        bad = as_leader.post(
            reverse("api-team-list"), {"name": "Y", "members": [10**9]}, format="json"
        )
        assert "members" in bad.json()["errors"]

    def test_people_have_no_delete(self, as_leader, owner_person):
        url = reverse("api-person-detail", args=[owner_person.pk])
        assert as_leader.delete(url).status_code == 405


@pytest.mark.django_db
class TestUnitsAndSettings:
    def test_units(self, as_viewer, product, cluster, owner_person):
        ProductFactory(slug="member", cluster=cluster, owner=owner_person)
        body = as_viewer.get(reverse("api-unit-list"), {"kind": "cluster"}).json()
        assert [(u["name"], u["members"]) for u in body["results"]] == [
            ("Employee experience", ["member"])
        ]
        unit = as_viewer.get(reverse("api-unit-detail", args=[product.unit_id])).json()
        assert unit["product"] == "payroll" and unit["accountable"] is True
        assert as_viewer.post(reverse("api-unit-list"), {}).status_code == 405

    def test_settings_read_by_all_changed_by_leaders(self, as_viewer, as_leader):
        url = reverse("api-settings")
        assert as_viewer.get(url).json()["max_active_units"] == 1
        assert as_viewer.patch(url, {"max_active_units": 2}, format="json").status_code == 403
        changed = as_leader.patch(url, {"max_active_units": 2}, format="json")
        assert changed.status_code == 200
        assert PortfolioSettings.load().max_active_units == 2

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"max_active_units": -1}, "max_active_units"),
            ({"crowding_share_pct": 101}, "crowding_share_pct"),
            ({"metrics_min": 9}, "metrics_min"),
            ({"governance_threshold": "lots"}, "governance_threshold"),
            ({"currency": "EURO"}, "currency"),
        ],
    )
    def test_bad_settings_name_the_field(self, as_leader, data, field):
        response = as_leader.patch(reverse("api-settings"), data, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["api-cluster-list", "api-person-list", "api-team-list", "api-unit-list"]
)
def test_every_list_refuses_a_bad_updated_since(as_viewer, name):
    response = as_viewer.get(reverse(name), {"updated_since": "2026-13-45"})
    assert response.status_code == 400
    assert "updated_since" in response.json()["errors"]


@pytest.mark.django_db
def test_people_updated_since(as_viewer, owner_person, other_owner_person):
    Person.objects.filter(pk=other_owner_person.pk).update(updated_at="2020-01-01T00:00:00Z")
    body = as_viewer.get(
        reverse("api-person-list"), {"updated_since": "2025-01-01T00:00:00Z"}
    ).json()
    assert [p["id"] for p in body["results"]] == [owner_person.pk]
    assert OwnershipUnit.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["api-product-list", "api-cluster-list", "api-person-list", "api-team-list", "api-unit-list"],
)
@pytest.mark.parametrize(
    "since", ["0099-08-09T06:24:58+23:34", "0001-01-01T00:10:00+05:00", "9999-12-31T23:00-08:00"]
)
def test_updated_since_offsets_postgresql_refuses_are_handled(as_viewer, name, since):
    response = as_viewer.get(reverse(name), {"updated_since": since})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "updated_since" in response.json()["errors"]
