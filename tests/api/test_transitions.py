"""POST /api/v1/products/{id}/transition/ and GET .../transitions/: the lifecycle rules via HTTP."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from products.models import LifecycleTransition, MigrationPlan, Stage
from tests.api.conftest import client_for
from tests.products.factories import ProductFactory


def move(client, product, **data):
    url = reverse("api-product-transition", args=[product.pk])
    return client.post(url, data, format="json")


def future(days=90) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


@pytest.mark.django_db
class TestTransition:
    def test_the_owner_moves_their_product_back_with_a_reason(self, owner, product):
        response = move(client_for(owner), product, to_stage="growth", reason="Reinvestment")

        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["from_stage"], body["to_stage"]) == ("maturity", "growth")
        assert body["actor"] == "owner"
        assert body["reason"] == "Reinvestment"
        product.refresh_from_db()
        assert product.lifecycle_stage == Stage.GROWTH

    def test_moving_back_without_a_reason_names_the_field(self, as_leader, product):
        response = move(as_leader, product, to_stage="growth")
        assert response.status_code == 400
        assert "reason" in response.json()["errors"]

    def test_skipping_a_stage_is_409_with_the_rule(self, as_leader):
        young = ProductFactory(lifecycle_stage=Stage.INTRODUCTION)
        response = move(as_leader, young, to_stage="maturity")
        assert response.status_code == 409
        assert response.json()["rule"] == "forward_one_stage_at_a_time"

    def test_retirement_needs_a_plan(self, as_leader, product):
        response = move(as_leader, product, to_stage="retirement")
        assert response.status_code == 409
        assert response.json()["rule"] == "retirement_needs_migration_plan"

    def test_retirement_with_a_plan_naming_targets_by_slug_or_id(
        self, as_leader, product, other_product
    ):
        third = ProductFactory(slug="third")
        response = move(
            as_leader,
            product,
            to_stage="retirement",
            migration_plan={
                "planned_end_date": future(),
                "targets": ["intranet", third.pk],
            },
        )
        assert response.status_code == 201, response.json()
        plan = MigrationPlan.objects.get(product=product)
        assert set(plan.targets.values_list("slug", flat=True)) == {"intranet", "third"}

    def test_unknown_targets_name_the_field(self, as_leader, product):
        response = move(
            as_leader,
            product,
            to_stage="retirement",
            migration_plan={
                "planned_end_date": future(),
                "targets": ["ghost"],
            },
        )
        assert response.status_code == 400
        assert "migration_plan.targets" in response.json()["errors"]

    def test_a_plan_in_the_past_names_the_field(self, as_leader, product, other_product):
        response = move(
            as_leader,
            product,
            to_stage="retirement",
            migration_plan={
                "planned_end_date": "2001-01-01",
                "targets": ["intranet"],
            },
        )
        assert response.status_code == 400
        assert "migration_plan.planned_end_date" in response.json()["errors"]

    def test_retired_needs_the_plan_done_unless_a_leader_overrides(self, owner, leader, product):
        move(
            client_for(leader),
            product,
            to_stage="retirement",
            migration_plan={
                "planned_end_date": future(),
                "capability_dropped": True,
                "dropped_reason": "Nobody needs it",
            },
        )
        refused = move(client_for(owner), product, to_stage="retired")
        assert refused.status_code == 409
        assert refused.json()["rule"] == "retired_needs_plan_done"
        not_leader = move(
            client_for(owner), product, to_stage="retired", override=True, reason="Now"
        )
        assert not_leader.json()["rule"] == "override_needs_leader"
        done = move(
            client_for(leader), product, to_stage="retired", override=True, reason="Contract ended"
        )
        assert done.status_code == 201
        assert done.json()["override"] is True
        final = move(client_for(leader), product, to_stage="growth", reason="Back")
        assert final.json()["rule"] == "retired_is_final"

    def test_another_owner_may_not_move_it(self, other_owner, product):
        assert (
            move(client_for(other_owner), product, to_stage="growth", reason="x").status_code == 403
        )

    @pytest.mark.parametrize(
        "data, field",
        [
            ({}, "to_stage"),
            ({"to_stage": "heaven"}, "to_stage"),
            (
                {"to_stage": "retirement", "migration_plan": "soon"},
                "migration_plan.non_field_errors",
            ),
            ({"to_stage": "growth", "override": "maybe"}, "override"),
        ],
    )
    def test_bad_input_names_the_field(self, as_leader, product, data, field):
        response = move(as_leader, product, **data)
        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()


@pytest.mark.django_db
def test_the_recorded_moves_are_listed(as_viewer, product):
    LifecycleTransition.objects.create(
        product=product, from_stage="growth", to_stage="maturity", reason="Stable"
    )
    url = reverse("api-product-transitions", args=[product.pk])

    body = as_viewer.get(url).json()

    assert [(t["from_stage"], t["to_stage"]) for t in body["results"]] == [("growth", "maturity")]
    assert as_viewer.get(url, {"updated_since": "yesterday"}).status_code == 400
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert as_viewer.get(url, {"updated_since": later}).json()["results"] == []
