"""Who created an ownership unit, and when, whichever way it was created (issue 17).

The bulk upsert and the catalogue import write no "+" history row for the unit they create
with each product: the product's "+" row, same actor and same time, records both. The unit's
history page in the admin (the one place unit history is shown) still answers who and when,
from that record; a product created one at a time keeps its unit's own record.
"""

import pytest
from django.contrib.auth import get_user_model
from django.template.defaultfilters import date as format_date
from django.urls import reverse
from django.utils.timezone import localtime
from rest_framework.test import APIClient

from products.imports import import_confirm, import_preview
from products.models import OwnershipUnit, Product
from products.selectors import unit_created
from products.services import product_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pass-word-123")
    client.force_login(user)
    return client


def by_bulk_upsert(leader) -> Product:
    api = APIClient()
    api.force_authenticate(leader)
    row = {"external_id": {"source": "cmdb", "id": "CI-7"}, "name": "Fleet tracking"}
    response = api.post("/api/v1/products/bulk-upsert/", {"rows": [row]}, format="json")
    assert response.status_code == 200, response.json()
    return Product.objects.get(pk=response.json()["rows"][0]["id"])


def by_import(leader) -> Product:
    upload = import_preview(
        actor=leader, filename="catalogue.csv", data=b"name,kind\r\nFleet tracking,system\r\n"
    )
    import_confirm(actor=leader, upload=upload, fingerprint=upload.fingerprint)
    return Product.objects.get(slug="fleet-tracking")


def by_single_create(leader) -> Product:
    return product_create(actor=leader, name="Fleet tracking")


@pytest.mark.parametrize(
    "create, own_record",
    [(by_bulk_upsert, False), (by_import, False), (by_single_create, True)],
    ids=["bulk-upsert", "import", "single-create"],
)
def test_the_units_history_page_says_who_created_it_and_when(
    admin_client, leader, create, own_record
):
    # given a product (and its own unit) created by a leader, one way or another
    product = create(leader)
    unit = OwnershipUnit.objects.get(product=product)
    creation = product.history.get(history_type="+")
    assert unit.history.filter(history_type="+").exists() is own_record

    # when anyone reads the unit's history page
    page = admin_client.get(reverse("admin:products_ownershipunit_history", args=[unit.pk]))

    # then it names the leader and the time the unit was created
    assert page.status_code == 200
    stamp = format_date(localtime(unit.created_at), "j M Y, H:i:s")
    text = page.content.decode()
    assert f"Created {stamp} by leader" in text
    assert ("together with its product" in text) is not own_record
    answer = unit_created(unit)
    assert answer is not None and answer.by == leader
    # the unit was created in the same write as its product, at the time its product's
    # creation record gives (to the microsecond for a bulk write, which shares one stamp)
    assert abs(answer.at - unit.created_at).total_seconds() < 1
    assert abs(creation.history_date - unit.created_at).total_seconds() < 1
    if not own_record:
        assert answer.at == unit.created_at == creation.history_date


def test_a_unit_with_no_record_of_its_creation_says_so(admin_client, leader):
    # given a bulk-created unit whose product's creation record was pruned from the history
    product = by_bulk_upsert(leader)
    product.history.filter(history_type="+").delete()

    page = admin_client.get(reverse("admin:products_ownershipunit_history", args=[product.unit_id]))

    assert "No record of who created this unit." in page.content.decode()
    assert unit_created(OwnershipUnit.objects.get(pk=product.unit_id)) is None
