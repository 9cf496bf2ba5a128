"""/api/v1/products/: reading, filtering, creating and editing through the services."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from products.models import Product, Stage
from tests.api.conftest import client_for
from tests.products.factories import ExternalIdFactory, ProductFactory

LIST = reverse("api-product-list")


def detail(product) -> str:
    return reverse("api-product-detail", args=[product.pk])


@pytest.mark.django_db
class TestRead:
    def test_a_product_shows_every_field(self, as_viewer, product, other_product, team, cluster):
        product.team = team
        product.save()
        product.dependencies.add(other_product)
        ExternalIdFactory(product=product, source="cmdb", external_id="CI-7")

        response = as_viewer.get(detail(product))

        assert response.status_code == 200
        body = response.json()
        assert body["slug"] == "payroll"
        assert body["team"] == "people-systems"
        assert body["cluster"] is None
        assert body["owner"] == {
            "id": product.unit.owner_id,
            "name": "Olivia Owner",
            "email": product.unit.owner.email,
            "accountable": True,
        }
        assert body["unit"] == product.unit_id
        assert body["dependencies"] == ["intranet"]
        assert body["external_ids"] == [{"source": "cmdb", "id": "CI-7"}]
        assert set(body) == {
            "id",
            "name",
            "slug",
            "kind",
            "description",
            "user_groups",
            "user_count",
            "key_use_cases",
            "business_capabilities",
            "criticality",
            "strategic",
            "under_significant_change",
            "lifecycle_stage",
            "stage_changed_at",
            "management_model",
            "project_end_date",
            "team",
            "cluster",
            "owner",
            "unit",
            "dependencies",
            "external_ids",
            "created_at",
            "updated_at",
            "version",
        }

    def test_a_clustered_product_names_its_cluster(self, as_viewer, cluster, owner_person):
        clustered = ProductFactory(cluster=cluster, owner=owner_person)
        body = as_viewer.get(detail(clustered)).json()
        assert body["cluster"] == "employee-experience"
        assert body["owner"]["name"] == "Olivia Owner"

    def test_anonymous_gets_401(self, api, product):
        assert api.get(LIST).status_code == 401

    def test_filters_and_ordering(self, as_viewer, product, other_product):
        by_stage = as_viewer.get(LIST, {"stage": "maturity", "q": "pay"}).json()
        assert [p["slug"] for p in by_stage["results"]] == ["payroll"]
        ordered = as_viewer.get(LIST, {"ordering": "-name"}).json()
        assert [p["slug"] for p in ordered["results"]] == ["payroll", "intranet"]

    def test_bad_filter_values_name_the_filter(self, as_viewer, product):
        for params, name in [
            ({"stage": "nirvana"}, "stage"),
            ({"owner": "²"}, "owner"),
            ({"owner": "9" * 40}, "owner"),
            ({"ordering": "password"}, "ordering"),
        ]:
            response = as_viewer.get(LIST, params)
            assert response.status_code == 400, params
            assert name in response.json()["errors"], params

    def test_updated_since_returns_what_changed(self, as_viewer, product, other_product):
        Product.objects.filter(pk=other_product.pk).update(
            updated_at=timezone.now() - dt.timedelta(days=3)
        )
        since = (timezone.now() - dt.timedelta(days=1)).isoformat()

        response = as_viewer.get(LIST, {"updated_since": since})

        assert [p["slug"] for p in response.json()["results"]] == ["payroll"]

    def test_a_bad_updated_since_is_400_naming_it(self, as_viewer):
        response = as_viewer.get(LIST, {"updated_since": "last tuesday"})
        assert response.status_code == 400
        assert "updated_since" in response.json()["errors"]


@pytest.mark.django_db
class TestCreate:
    def test_a_leader_adds_a_product(self, as_leader, team, owner_person, other_product):
        response = as_leader.post(
            LIST,
            {
                "name": "Expense claims",
                "kind": "service",
                "team": "people-systems",
                "owner": owner_person.pk,
                "user_count": 1200,
                "dependencies": ["intranet"],
                "external_ids": [{"source": "cmdb", "id": "CI-9"}],
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["slug"] == "expense-claims"
        assert body["owner"]["id"] == owner_person.pk
        assert body["dependencies"] == ["intranet"]
        assert body["external_ids"] == [{"source": "cmdb", "id": "CI-9"}]

    def test_a_viewer_may_not(self, as_viewer):
        response = as_viewer.post(LIST, {"name": "X"}, format="json")
        assert response.status_code == 403

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"name": 12.5, "kind": ["system"]}, "kind"),
            ({"name": "A", "kind": "spaceship"}, "kind"),
            ({"name": "A", "user_count": -1}, "user_count"),
            ({"name": "A", "user_count": "many"}, "user_count"),
            ({"name": "A", "user_count": 2**40}, "user_count"),
            ({"name": "x" * 161}, "name"),
            ({"name": "A", "team": "no-such-team"}, "team"),
            ({"name": "A", "owner": 999999}, "owner"),
            ({"name": "A", "cluster": "nowhere"}, "cluster"),
            ({"name": "A", "dependencies": ["ghost"]}, "dependencies"),
            ({"name": "A", "project_end_date": "31/12/2026"}, "project_end_date"),
            ({"name": "A", "management_model": "project"}, "project_end_date"),
            ({"name": "A", "strategic": "perhaps"}, "strategic"),
            ({"name": "A\x00"}, "name"),
            (
                {"name": "A", "external_ids": [{"source": "Bad Source", "id": "1"}]},
                "external_ids.0.source",
            ),
            ({}, "name"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, as_leader, data, field):
        response = as_leader.post(LIST, data, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"], response.json()

    @pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "{not json"])
    def test_a_body_that_is_not_an_object_is_400(self, as_leader, body):
        response = as_leader.post(LIST, body, content_type="application/json")
        assert response.status_code == 400

    def test_starting_in_retirement_is_refused_by_rule(self, as_leader):
        response = as_leader.post(
            LIST, {"name": "A", "lifecycle_stage": "retirement"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["rule"] == "retirement_needs_migration_plan"


@pytest.mark.django_db
class TestUpdate:
    def test_the_owner_edits_their_product(self, owner, product):
        response = client_for(owner).patch(
            detail(product), {"description": "Pays people."}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["description"] == "Pays people."

    def test_another_owner_may_not(self, other_owner, product):
        response = client_for(other_owner).patch(
            detail(product), {"description": "x"}, format="json"
        )
        assert response.status_code == 403

    def test_strategic_is_for_leaders(self, owner, leader, product):
        assert (
            client_for(owner).patch(detail(product), {"strategic": True}, format="json").status_code
            == 403
        )
        response = client_for(leader).patch(detail(product), {"strategic": True}, format="json")
        assert response.status_code == 200
        assert response.json()["strategic"] is True

    def test_owner_and_cluster_changes_are_for_leaders(
        self, owner, leader, product, cluster, other_owner_person
    ):
        assert (
            client_for(owner)
            .patch(detail(product), {"cluster": "employee-experience"}, format="json")
            .status_code
            == 403
        )
        response = client_for(leader).patch(
            detail(product), {"owner": other_owner_person.pk}, format="json"
        )
        assert response.json()["owner"]["id"] == other_owner_person.pk
        response = client_for(leader).patch(
            detail(product), {"cluster": "employee-experience"}, format="json"
        )
        assert response.json()["cluster"] == "employee-experience"

    def test_the_stage_changes_only_by_transition(self, as_leader, product):
        response = as_leader.patch(
            detail(product), {"lifecycle_stage": Stage.GROWTH}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["rule"] == "stage_changes_by_transition"

    def test_put_needs_the_name(self, as_leader, product):
        response = as_leader.put(detail(product), {"description": "x"}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()["errors"]

    def test_unknown_product_is_404(self, as_leader):
        assert as_leader.patch("/api/v1/products/999999/", {}, format="json").status_code == 404
        assert as_leader.get("/api/v1/products/abc/").status_code == 404

    def test_no_delete(self, as_leader, product):
        assert as_leader.delete(detail(product)).status_code == 405


@pytest.mark.django_db
def test_a_patch_with_half_an_external_id_names_the_field(as_leader, product):
    response = as_leader.patch(detail(product), {"external_ids": [{"id": "1"}]}, format="json")
    assert response.status_code == 400
    assert "external_ids" in response.json()["errors"]
