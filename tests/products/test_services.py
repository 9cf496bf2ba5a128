"""Catalogue writes: products, owners, cluster membership, external ids, history."""

import pytest

from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from products.models import ExternalId, ManagementModel, OwnershipUnit, Product, Stage, UnitKind
from products.services import (
    management_model_suggest,
    product_create,
    product_set_cluster,
    product_update,
    unit_assign_owner,
)
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_create_gives_the_product_a_unit_of_its_own(leader, owner_person):
    product = product_create(
        actor=leader,
        name="Service catalogue",
        owner=owner_person,
        external_ids=[("cmdb", "CI-77")],
        kind="service",
    )

    assert product.slug == "service-catalogue"
    assert product.unit.kind == UnitKind.PRODUCT
    assert product.unit.product == product
    assert product.owner == owner_person
    assert ExternalId.objects.get(source="cmdb").product == product
    assert product.transitions.get().reason == "Added to the portfolio."
    assert product.history.first().history_user == leader


def test_create_in_a_cluster_puts_it_under_the_cluster_unit(leader, cluster):
    product = product_create(actor=leader, name="Badge printing", cluster=cluster)

    assert product.unit == cluster.unit
    assert product.cluster == cluster
    assert product.own_unit.is_active is False


def test_create_is_leader_only(owner):
    with pytest.raises(Forbidden):
        product_create(actor=owner, name="Shadow IT")
    assert not Product.objects.exists()


def test_create_refuses_a_project_without_end_date_and_saves_nothing(leader):
    with pytest.raises(ValidationFailed) as exc:
        product_create(
            actor=leader, name="Core switch refresh", management_model=ManagementModel.PROJECT
        )
    assert exc.value.errors  # the check constraint names the rule
    assert not Product.objects.exists()
    assert not OwnershipUnit.objects.exists()


def test_create_refuses_an_external_id_taken_by_another_product(leader):
    ExternalIdFactory(source="cmdb", external_id="CI-1")
    with pytest.raises(ValidationFailed) as exc:
        product_create(actor=leader, name="Twin", external_ids=[("cmdb", "CI-1")])
    assert "external_ids" in exc.value.errors
    assert Product.objects.count() == 1


def test_create_cannot_start_in_retirement(leader):
    with pytest.raises(RuleViolation) as exc:
        product_create(actor=leader, name="Old ERP", lifecycle_stage=Stage.RETIREMENT)
    assert exc.value.rule == "retirement_needs_migration_plan"


def test_owner_edits_description_but_not_leader_fields(owner, product, other_owner_person):
    product_update(actor=owner, product=product, description="Pays everyone on time.")
    product.refresh_from_db()
    assert product.description == "Pays everyone on time."

    with pytest.raises(Forbidden):
        product_update(actor=owner, product=product, strategic=True)
    with pytest.raises(Forbidden):
        product_update(actor=owner, product=product, owner=other_owner_person)
    product.refresh_from_db()
    assert product.strategic is False
    assert product.owner.name == "Olivia Owner"


def test_other_owner_and_viewer_cannot_edit(other_owner, viewer, product):
    for actor in (other_owner, viewer):
        with pytest.raises(Forbidden):
            product_update(actor=actor, product=product, description="mine now")


def test_stage_is_not_editable_as_a_field(owner, product):
    with pytest.raises(RuleViolation) as exc:
        product_update(actor=owner, product=product, lifecycle_stage=Stage.RETIRED)
    assert exc.value.rule == "stage_changes_by_transition"


def test_joining_and_leaving_a_cluster_moves_the_unit(leader, product, other_owner_person):
    cluster = ClusterFactory(owner=other_owner_person)
    own_unit = product.unit

    product_set_cluster(actor=leader, product=product, cluster=cluster)
    product.refresh_from_db()
    own_unit.refresh_from_db()
    assert product.unit == cluster.unit
    assert product.owner == other_owner_person
    assert own_unit.is_active is False

    new_owner = PersonFactory()
    product_set_cluster(actor=leader, product=product, cluster=None, new_owner=new_owner)
    product.refresh_from_db()
    own_unit.refresh_from_db()
    assert product.unit == own_unit
    assert own_unit.is_active is True
    assert product.owner == new_owner


def test_cluster_membership_is_for_leaders(owner, product, cluster):
    with pytest.raises(Forbidden):
        product_set_cluster(actor=owner, product=product, cluster=cluster)


def test_a_departed_person_cannot_be_named_owner(leader, product):
    departed = PersonFactory(active=False, departed_on="2026-03-01")
    with pytest.raises(ValidationFailed) as exc:
        unit_assign_owner(actor=leader, unit=product.unit, owner=departed)
    assert "owner" in exc.value.errors


def test_units_without_accountable_owner(leader, owner_person, other_owner_person):
    kept = ProductFactory(owner=owner_person)
    nobody = ProductFactory(owner=None)
    left = ProductFactory(owner=other_owner_person)
    other_owner_person.active = False
    other_owner_person.departed_on = "2026-06-30"
    other_owner_person.save()
    locked = PersonFactory()
    locked.user.is_active = False
    locked.user.save()
    locked_out = ProductFactory(owner=locked)

    orphans = set(Product.objects.without_accountable_owner())

    assert orphans == {nobody, left, locked_out}
    assert kept.unit.has_accountable_owner
    assert not Product.objects.get(pk=left.pk).unit.has_accountable_owner


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"daily_users": True, "keeps_changing": True}, ManagementModel.PRODUCT),
        ({"commodity_infrastructure": True}, ManagementModel.PROJECT),
        (
            {"has_end": True, "commodity_infrastructure": True, "daily_users": True},
            ManagementModel.PROJECT,
        ),
        ({"has_end": True, "daily_users": True}, ManagementModel.PRODUCT),
        ({}, ManagementModel.PRODUCT),
    ],
)
def test_management_model_suggestion(answers, expected):
    suggestion = management_model_suggest(answers)
    assert suggestion.model == expected
    assert len(suggestion.reasons) == sum(answers.values())
