"""The product API's three ways to add a product refuse bad input alike.

`POST products/`, `POST products/upsert/` (one row) and `POST products/bulk-upsert/` apply the
same rules (products/rules.py): the same field at fault, the same message, the same `rule`. A
rule answers 409 on the one-product endpoints; in a batch it is the row's `rule`, and the
batch is refused whole with 400 (docs/api.md).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from products.models import Product
from tests.api.conftest import row
from tests.portfolio.factories import PersonFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("api-product-list")
UPSERT = reverse("api-product-upsert")
BULK = reverse("api-product-bulk-upsert")
SAME_MESSAGE = True

# (id, field at fault, body for products/, body for a row, rule, same message on both paths)
CASES = [
    ("name too long", "name", {"name": "x" * 161}, None, None, SAME_MESSAGE),
    ("slug not a slug", "slug", {"slug": "not a slug"}, None, None, SAME_MESSAGE),
    ("unknown kind", "kind", {"kind": "spaceship"}, None, None, SAME_MESSAGE),
    ("unknown criticality", "criticality", {"criticality": "extreme"}, None, None, SAME_MESSAGE),
    ("negative user count", "user_count", {"user_count": -1}, None, None, SAME_MESSAGE),
    ("unknown team", "team", {"team": "ghosts"}, None, None, SAME_MESSAGE),
    (
        "project without an end date",
        "project_end_date",
        {"management_model": "project"},
        None,
        None,
        SAME_MESSAGE,
    ),
    ("departed owner", "owner", {"owner": "@gone"}, {"owner": "gone@example.org"}, None, True),
    # An owner is a person id on products/ and an email in a row: the field is the same.
    ("unknown owner", "owner", {"owner": 999_999}, {"owner": "nobody@example.org"}, None, False),
    (
        "new product in retirement",
        "lifecycle_stage",
        {"lifecycle_stage": "retirement"},
        None,
        "retirement_needs_migration_plan",
        SAME_MESSAGE,
    ),
]


@pytest.mark.parametrize(
    "name, field, body, row_body, rule, same_message", CASES, ids=[c[0] for c in CASES]
)
def test_products_upsert_and_bulk_upsert_refuse_alike(
    as_leader, name, field, body, row_body, rule, same_message
):
    gone = PersonFactory(email="gone@example.org", active=False, departed_on="2026-01-01")
    body = {k: gone.pk if v == "@gone" else v for k, v in body.items()}
    one_row = row("CI-NEW", **{"name": "New product", **(row_body or body)})

    single = as_leader.post(PRODUCTS, {"name": "New product", **body}, format="json")
    upsert = as_leader.post(UPSERT, one_row, format="json")
    bulk = as_leader.post(BULK, {"rows": [one_row]}, format="json")

    expected_status = 409 if rule else 400
    assert single.status_code == upsert.status_code == expected_status, single.json()
    assert single.json().get("rule") == upsert.json().get("rule") == rule
    assert bulk.status_code == 400
    [bad_row] = bulk.json()["rows"]
    assert bad_row["index"] == 0 and bad_row.get("rule") == rule
    assert field in single.json()["errors"] and field in upsert.json()["errors"]
    if same_message:
        assert single.json()["errors"][field] == bad_row["errors"][field]
        assert upsert.json()["errors"][field] == bad_row["errors"][field]
    else:
        assert field in bad_row["errors"]
    assert not Product.objects.exists()
