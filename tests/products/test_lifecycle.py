"""Lifecycle rules at each boundary (DOMAIN.md: Lifecycle stage)."""

import datetime as dt

import pytest
from django.utils import timezone

from portfolio.errors import Forbidden, RuleViolation, ValidationFailed
from products.models import LifecycleTransition, MigrationPlan, Stage
from products.services import (
    MigrationPlanInput,
    allowed_moves,
    migration_plan_mark_done,
    product_transition,
)
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + dt.timedelta(days=1)


def _product(stage, owner_person):
    return ProductFactory(lifecycle_stage=stage, owner=owner_person)


def _retiring(owner_person, *, target=None):
    product = _product(Stage.MATURITY, owner_person)
    target = target or ProductFactory(lifecycle_stage=Stage.GROWTH)
    product_transition(
        actor=owner_person.user,
        product=product,
        to_stage=Stage.RETIREMENT,
        migration_plan=MigrationPlanInput(planned_end_date=TOMORROW, targets=[target]),
    )
    product.refresh_from_db()
    return product


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Stage.INTRODUCTION, Stage.GROWTH),
        (Stage.GROWTH, Stage.MATURITY),
    ],
)
def test_forward_one_stage_is_recorded(owner, owner_person, start, to):
    product = _product(start, owner_person)

    transition = product_transition(actor=owner, product=product, to_stage=to)

    product.refresh_from_db()
    assert product.lifecycle_stage == to
    assert (transition.from_stage, transition.to_stage, transition.actor) == (start, to, owner)
    assert product.history.first().lifecycle_stage == to
    assert product.history.first().history_user == owner


def test_skipping_a_stage_forward_is_refused_with_the_rule(owner, owner_person):
    product = _product(Stage.INTRODUCTION, owner_person)

    with pytest.raises(RuleViolation) as exc:
        product_transition(actor=owner, product=product, to_stage=Stage.MATURITY)

    assert exc.value.rule == "forward_one_stage_at_a_time"
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.INTRODUCTION
    assert not LifecycleTransition.objects.filter(product=product).exists()


def test_same_stage_is_refused(owner, owner_person):
    product = _product(Stage.GROWTH, owner_person)
    with pytest.raises(RuleViolation) as exc:
        product_transition(actor=owner, product=product, to_stage=Stage.GROWTH)
    assert exc.value.rule == "same_stage"


def test_unknown_stage_names_the_field(owner, owner_person):
    product = _product(Stage.GROWTH, owner_person)
    with pytest.raises(ValidationFailed) as exc:
        product_transition(actor=owner, product=product, to_stage="sunset")
    assert "to_stage" in exc.value.errors


def test_moving_back_needs_a_reason(owner, owner_person):
    product = _product(Stage.MATURITY, owner_person)

    with pytest.raises(ValidationFailed) as exc:
        product_transition(actor=owner, product=product, to_stage=Stage.GROWTH)
    assert "reason" in exc.value.errors

    product_transition(
        actor=owner, product=product, to_stage=Stage.GROWTH, reason="Reinvest for new region"
    )
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.GROWTH
    assert product.transitions.last().reason == "Reinvest for new region"


def test_entering_retirement_without_a_plan_is_refused(owner, owner_person):
    product = _product(Stage.MATURITY, owner_person)
    with pytest.raises(RuleViolation) as exc:
        product_transition(actor=owner, product=product, to_stage=Stage.RETIREMENT)
    assert exc.value.rule == "retirement_needs_migration_plan"
    assert not MigrationPlan.objects.exists()


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        (
            MigrationPlanInput(planned_end_date=None, capability_dropped=True, dropped_reason="x"),
            "migration_plan.planned_end_date",
        ),
        (
            MigrationPlanInput(
                planned_end_date=timezone.localdate() - dt.timedelta(days=1),
                capability_dropped=True,
                dropped_reason="x",
            ),
            "migration_plan.planned_end_date",
        ),
        (MigrationPlanInput(planned_end_date=TOMORROW), "migration_plan.targets"),
        (
            MigrationPlanInput(planned_end_date=TOMORROW, capability_dropped=True),
            "migration_plan.dropped_reason",
        ),
    ],
    ids=["no-end-date", "end-date-in-past", "no-target", "dropped-without-reason"],
)
def test_retirement_plan_is_checked_field_by_field(owner, owner_person, plan, field):
    product = _product(Stage.GROWTH, owner_person)
    with pytest.raises(ValidationFailed) as exc:
        product_transition(
            actor=owner, product=product, to_stage=Stage.RETIREMENT, migration_plan=plan
        )
    assert field in exc.value.errors
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.GROWTH


def test_retirement_plan_today_is_the_boundary(owner, owner_person):
    product = _product(Stage.INTRODUCTION, owner_person)
    product_transition(
        actor=owner,
        product=product,
        to_stage=Stage.RETIREMENT,
        migration_plan=MigrationPlanInput(
            planned_end_date=timezone.localdate(),
            capability_dropped=True,
            dropped_reason="Nobody uses it any more",
        ),
    )
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.RETIREMENT
    assert product.migration_plan.capability_dropped


def test_a_product_cannot_migrate_to_itself_or_to_a_retiring_one(owner, owner_person):
    product = _product(Stage.MATURITY, owner_person)
    retiring = _retiring(owner_person)
    with pytest.raises(ValidationFailed) as exc:
        product_transition(
            actor=owner,
            product=product,
            to_stage=Stage.RETIREMENT,
            migration_plan=MigrationPlanInput(planned_end_date=TOMORROW, targets=[product]),
        )
    assert "migration_plan.targets" in exc.value.errors
    with pytest.raises(ValidationFailed):
        product_transition(
            actor=owner,
            product=product,
            to_stage=Stage.RETIREMENT,
            migration_plan=MigrationPlanInput(planned_end_date=TOMORROW, targets=[retiring]),
        )


def test_retired_needs_the_plan_done(owner, owner_person):
    product = _retiring(owner_person)

    with pytest.raises(RuleViolation) as exc:
        product_transition(actor=owner, product=product, to_stage=Stage.RETIRED)
    assert exc.value.rule == "retired_needs_plan_done"

    migration_plan_mark_done(actor=owner, product=product)
    transition = product_transition(actor=owner, product=product, to_stage=Stage.RETIRED)
    assert transition.override is False
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.RETIRED


def test_only_a_leader_may_override_an_unfinished_plan(owner, owner_person, leader):
    product = _retiring(owner_person)

    with pytest.raises(RuleViolation) as exc:
        product_transition(
            actor=owner, product=product, to_stage=Stage.RETIRED, override=True, reason="x"
        )
    assert exc.value.rule == "override_needs_leader"

    with pytest.raises(ValidationFailed) as exc:
        product_transition(actor=leader, product=product, to_stage=Stage.RETIRED, override=True)
    assert "reason" in exc.value.errors

    transition = product_transition(
        actor=leader,
        product=product,
        to_stage=Stage.RETIRED,
        override=True,
        reason="Vendor switched the servers off early",
    )
    assert transition.override is True
    assert transition.actor == leader


def test_retired_is_final(leader, owner_person):
    product = _product(Stage.RETIRED, owner_person)
    assert allowed_moves(Stage.RETIRED) == []
    with pytest.raises(RuleViolation) as exc:
        product_transition(actor=leader, product=product, to_stage=Stage.MATURITY, reason="x")
    assert exc.value.rule == "retired_is_final"


def test_retired_only_from_retirement(leader, owner_person):
    product = _product(Stage.MATURITY, owner_person)
    with pytest.raises(RuleViolation) as exc:
        product_transition(
            actor=leader, product=product, to_stage=Stage.RETIRED, override=True, reason="x"
        )
    assert exc.value.rule == "forward_one_stage_at_a_time"


def test_cancelling_a_retirement_goes_back_with_a_reason(owner, owner_person):
    product = _retiring(owner_person)
    product_transition(
        actor=owner, product=product, to_stage=Stage.MATURITY, reason="Replacement fell through"
    )
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.MATURITY


def test_allowed_moves_per_stage():
    assert allowed_moves(Stage.INTRODUCTION) == [Stage.GROWTH, Stage.RETIREMENT]
    assert allowed_moves(Stage.GROWTH) == [Stage.INTRODUCTION, Stage.MATURITY, Stage.RETIREMENT]
    assert allowed_moves(Stage.MATURITY) == [Stage.INTRODUCTION, Stage.GROWTH, Stage.RETIREMENT]
    assert allowed_moves(Stage.RETIREMENT) == [
        Stage.INTRODUCTION,
        Stage.GROWTH,
        Stage.MATURITY,
        Stage.RETIRED,
    ]


def test_viewer_and_other_owner_cannot_move_a_product(viewer, other_owner, owner_person):
    product = _product(Stage.GROWTH, owner_person)
    for actor in (viewer, other_owner):
        with pytest.raises(Forbidden):
            product_transition(actor=actor, product=product, to_stage=Stage.MATURITY)
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.GROWTH
