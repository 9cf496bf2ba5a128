"""One product write, two paths, one answer.

The same bad input is sent through the single-product services (product_create,
product_update) and through the bulk upsert by external id; both must refuse it under the same
field, with the same message, and with the same rule name where a domain rule refuses it. A
rule is a 409 RuleViolation on the single path; in a batch it is that row's error carrying the
`rule`, and the batch is refused whole (the documented bulk contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from portfolio.bulk import BulkValidationFailed
from portfolio.errors import DomainError, RuleViolation, ValidationFailed
from products.bulk import products_bulk_upsert
from products.models import Product, Stage
from products.services import product_create, product_update
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXT = {"source": "cmdb", "id": "CI-PARITY"}


@dataclass
class Case:
    """Bad input for one rule: `single` goes to the service as keyword arguments, `bulk` into
    the row; values naming a person are resolved from the world (`"@gone"`, `"@other"`)."""

    id: str
    field: str
    single: dict[str, Any]
    bulk: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None
    existing: bool = False  # update an existing product rather than create one
    clustered: bool = False  # the existing product is in a cluster

    def bulk_row(self) -> dict[str, Any]:
        return self.bulk or self.single


CASES = [
    # Field limits and choices: bad input, 400 on both paths.
    Case("name too long", "name", {"name": "x" * 161}),
    Case("name blank", "name", {"name": "   "}),
    Case("slug not a slug", "slug", {"slug": "not a slug"}),
    Case("slug too long", "slug", {"slug": "s" * 161}),
    Case("unknown kind", "kind", {"kind": "spaceship"}),
    Case("unknown criticality", "criticality", {"criticality": "extreme"}),
    Case("unknown management model", "management_model", {"management_model": "hobby"}),
    Case("unknown stage", "lifecycle_stage", {"lifecycle_stage": "adolescence"}),
    Case("negative user count", "user_count", {"user_count": -1}),
    Case("user count beyond an integer", "user_count", {"user_count": 2**31}),
    Case("project without an end date", "project_end_date", {"management_model": "project"}),
    Case(
        "project without an end date, on update",
        "project_end_date",
        {"management_model": "project"},
        existing=True,
    ),
    Case("unknown kind, on update", "kind", {"kind": "spaceship"}, existing=True),
    # Owners.
    Case("departed owner", "owner", {"owner": "@gone"}),
    Case("departed owner, on update", "owner", {"owner": "@gone"}, existing=True),
    Case(
        "owner other than the cluster's",
        "owner",
        {"owner": "@other"},
        existing=True,
        clustered=True,
    ),
    # Lifecycle rules: 409 with the rule on the single path, the row's rule in a batch.
    Case(
        "new product in retirement",
        "lifecycle_stage",
        {"lifecycle_stage": Stage.RETIREMENT},
        rule="retirement_needs_migration_plan",
    ),
    Case(
        "stage changed outside a transition",
        "lifecycle_stage",
        {"lifecycle_stage": Stage.GROWTH},
        rule="stage_changes_by_transition",
        existing=True,
    ),
]


@pytest.fixture
def world(owner_person, other_owner_person, cluster):
    return {
        "@gone": PersonFactory(
            name="Gus Gone", email="gone@example.org", active=False, departed_on="2026-01-01"
        ),
        "@other": other_owner_person,
        "cluster": cluster,
        "owner": owner_person,
    }


def _existing(case: Case, world) -> Product:
    product = ProductFactory(
        name="Payroll",
        slug="payroll",
        lifecycle_stage=Stage.INTRODUCTION,
        owner=world["owner"],
        cluster=world["cluster"] if case.clustered else None,
    )
    ExternalIdFactory(product=product, source=EXT["source"], external_id=EXT["id"])
    return product


def _single(case: Case, world, leader, existing: Product | None) -> DomainError:
    kwargs = {k: world[v] if v in ("@gone", "@other") else v for k, v in case.single.items()}
    with pytest.raises(DomainError) as caught:
        if existing is not None:
            product_update(actor=leader, product=existing, **kwargs)
        else:
            product_create(actor=leader, **{"name": "New product", **kwargs})
    return caught.value


def _bulk(case: Case, world, leader) -> BulkValidationFailed:
    row: dict[str, Any] = {"external_id": EXT}
    if not case.existing:
        row["name"] = "New product"
    for key, value in case.bulk_row().items():
        row[key] = world[value].email if value in ("@gone", "@other") else value
    with pytest.raises(BulkValidationFailed) as caught:
        products_bulk_upsert(actor=leader, rows=[row])
    return caught.value


def _messages(error: DomainError, field: str) -> list[str]:
    if isinstance(error, ValidationFailed):
        return error.errors[field]
    assert error.field == field
    return [error.message]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_single_and_the_bulk_path_refuse_alike(case, world, leader):
    # given the product to update, if any (known to the bulk path by its external id)
    existing = _existing(case, world) if case.existing else None
    before = list(Product.objects.values()) if existing else []
    # when the bad input goes through the single-product service
    single = _single(case, world, leader, existing)
    # and through the bulk upsert
    bulk = _bulk(case, world, leader)

    # then both name the same field with the same message...
    [row] = bulk.rows
    assert row.index == 0
    assert case.field in row.errors, row.errors
    assert _messages(single, case.field) == row.errors[case.field]
    # ... and the same rule: a 409 RuleViolation alone, a row carrying the rule in a batch
    if case.rule:
        assert isinstance(single, RuleViolation) and single.status_code == 409
        assert single.rule == row.rule == case.rule
    else:
        assert isinstance(single, ValidationFailed) and single.status_code == 400
        assert row.rule is None
    assert bulk.status_code == 400
    # and nothing was stored by either
    assert not Product.objects.filter(name="New product").exists()
    assert list(Product.objects.values()) == before
