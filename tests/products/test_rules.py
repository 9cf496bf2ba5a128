"""products/rules.py: the catalogue's write rules over plain values (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from portfolio.errors import RuleViolation, ValidationFailed
from products import rules
from products.models import ManagementModel, Stage
from products.rules import Refusal


class TestRefuse:
    def test_nothing_to_refuse_raises_nothing(self):
        rules.refuse([None, None])
        rules.refuse([])

    def test_bad_input_is_gathered_by_field(self):
        with pytest.raises(ValidationFailed) as caught:
            rules.refuse([Refusal("name", "too long"), None, Refusal("kind", "no such kind")])
        assert caught.value.errors == {"name": ["too long"], "kind": ["no such kind"]}

    def test_a_rule_wins_over_bad_input_and_names_itself(self):
        with pytest.raises(RuleViolation) as caught:
            rules.refuse([Refusal("name", "too long"), Refusal("x", "refused", "some_rule")])
        assert caught.value.rule == "some_rule"
        assert caught.value.field == "x"
        assert caught.value.status_code == 409


class TestFieldLimits:
    def test_values_within_the_limits_pass(self):
        fine = {
            "name": "n" * 160,
            "slug": "a-b_c",
            "kind": "system",
            "criticality": "high",
            "management_model": "project",
            "lifecycle_stage": "growth",
            "user_count": 2_147_483_647,
            "description": "d" * 10_000,
        }
        assert rules.field_refusals(fine) == []

    @pytest.mark.parametrize(
        "values, field, message",
        [
            ({"name": "n" * 161}, "name", "Ensure this field has no more than 160 characters."),
            ({"name": "  "}, "name", "This field may not be blank."),
            ({"slug": "s" * 161}, "slug", "Ensure this field has no more than 160 characters."),
            ({"slug": "a b"}, "slug", "Letters, numbers, underscores or hyphens only."),
            ({"user_count": -1}, "user_count", "Ensure this value is greater than or equal to 0."),
            (
                {"user_count": 2**31},
                "user_count",
                "Ensure this value is less than or equal to 2147483647.",
            ),
            (
                {"criticality": "extreme"},
                "criticality",
                '"extreme" is not a valid choice; one of: critical, high, low, medium.',
            ),
        ],
    )
    def test_each_limit_names_its_field(self, values, field, message):
        assert rules.field_refusals(values) == [Refusal(field, message)]

    def test_a_choice_that_is_not_a_string_is_refused(self):
        [refusal] = rules.field_refusals({"kind": 3})
        assert refusal.field == "kind" and refusal.message.startswith('"3" is not')

    def test_the_choice_message_is_a_template_drf_fills_in(self):
        template = rules.choice_message("management_model")
        assert template.format(input="hobby") == (
            '"hobby" is not a valid choice; one of: product, project.'
        )

    def test_an_empty_slug_is_left_to_the_caller_to_make(self):
        assert rules.field_refusals({"slug": ""}) == []

    @pytest.mark.parametrize(
        "source, ext_id, field",
        [
            ("CMDB", "1", "external_id.source"),
            ("", "1", "external_id.source"),
            ("cmdb", "", "external_id.id"),
            ("cmdb", "x" * 201, "external_id.id"),
        ],
    )
    def test_external_ids(self, source, ext_id, field):
        assert rules.external_id_refusal(source, ext_id).field == field
        assert rules.external_id_refusal("cmdb", "x" * 200) is None


class TestManagementModel:
    def test_a_product_has_no_end_date_unless_one_is_sent(self):
        day = dt.date(2027, 1, 1)
        assert rules.effective_end_date(model="product", changes={}, current=day) is None
        sent = {"project_end_date": day}
        assert rules.effective_end_date(model="product", changes=sent) == day

    def test_a_project_keeps_its_end_date(self):
        day = dt.date(2027, 1, 1)
        assert rules.effective_end_date(model="project", changes={}, current=day) == day

    def test_a_project_needs_an_end_date(self):
        refusal = rules.end_date_refusal(model=ManagementModel.PROJECT, end=None)
        assert refusal == Refusal("project_end_date", "A project needs an end date.")
        assert rules.end_date_refusal(model=ManagementModel.PROJECT, end=dt.date.today()) is None
        assert rules.end_date_refusal(model=ManagementModel.PRODUCT, end=None) is None


class TestOwners:
    def test_a_departed_owner_is_refused_unless_already_the_owner(self):
        refused = rules.owner_refusal(name="Gus", accountable=False)
        assert refused == Refusal("owner", "Gus has left or cannot log in.")
        assert rules.owner_refusal(name="Gus", accountable=False, already_owner=True) is None
        assert rules.owner_refusal(name="Ana", accountable=True) is None

    def test_a_clustered_product_is_owned_by_the_clusters_owner(self):
        assert (
            rules.cluster_owner_refusal(cluster_name="HR", owner_id=1, cluster_owner_id=1) is None
        )
        assert (
            rules.cluster_owner_refusal(cluster_name="HR", owner_id=None, cluster_owner_id=1)
            is None
        )
        refusal = rules.cluster_owner_refusal(cluster_name="HR", owner_id=2, cluster_owner_id=1)
        assert refusal is not None and refusal.field == "owner" and "HR" in refusal.message

    def test_a_retired_product_cannot_join_a_cluster(self):
        assert rules.join_cluster_refusal(stage=Stage.RETIRED).rule == "retired_is_final"
        assert rules.join_cluster_refusal(stage=Stage.RETIREMENT) is None

    def test_a_product_cannot_depend_on_itself(self):
        assert rules.self_dependency_refusal(product_id=1, dependency_ids=[2, 1]).field == (
            "dependencies"
        )
        assert rules.self_dependency_refusal(product_id=None, dependency_ids=[1]) is None


class TestLifecycle:
    def test_a_new_product_cannot_start_in_retirement(self):
        refusal = rules.new_product_stage_refusal(Stage.RETIREMENT)
        assert refusal.rule == "retirement_needs_migration_plan"
        assert refusal.field == "lifecycle_stage"
        assert rules.new_product_stage_refusal(Stage.GROWTH) is None

    def test_an_edit_may_repeat_the_stage_but_not_change_it(self):
        assert rules.stage_change_refusal(name="P", current="growth", wanted="growth") is None
        refusal = rules.stage_change_refusal(name="P", current="growth", wanted="maturity")
        assert refusal.rule == "stage_changes_by_transition"
        assert refusal.message.startswith("P is in growth;")

    @pytest.mark.parametrize(
        "from_stage, to_stage, reason, field, rule",
        [
            ("growth", "growth", "", "to_stage", "same_stage"),
            ("retired", "growth", "why", "to_stage", "retired_is_final"),
            ("introduction", "maturity", "", "to_stage", "forward_one_stage_at_a_time"),
            ("retirement", "growth", "", "reason", None),
            ("growth", "limbo", "", "to_stage", None),
        ],
    )
    def test_moves_the_lifecycle_refuses(self, from_stage, to_stage, reason, field, rule):
        refusal = rules.transition_refusal(
            name="P", from_stage=from_stage, to_stage=to_stage, reason=reason
        )
        assert refusal is not None
        assert (refusal.field, refusal.rule) == (field, rule)

    @pytest.mark.parametrize(
        "from_stage, to_stage, reason",
        [
            ("introduction", "growth", ""),
            ("growth", "retirement", ""),
            ("maturity", "growth", "reinvestment"),
            ("retirement", "retired", ""),
        ],
    )
    def test_moves_the_lifecycle_allows(self, from_stage, to_stage, reason):
        assert (
            rules.transition_refusal(
                name="P", from_stage=from_stage, to_stage=to_stage, reason=reason
            )
            is None
        )
