"""Odd query strings on the list pages answer with a page, never a server error."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("owner", ["²", "12345678901234567890", "abc"])
def test_an_owner_that_is_not_a_person_id_lists_nothing(viewer_client, product, owner):
    response = viewer_client.get(reverse("product-list"), {"owner": owner})

    assert response.status_code == 200
    assert "Payroll" not in response.content.decode()


def test_an_unknown_owner_filter_leaves_the_product_out_but_a_known_one_keeps_it(
    viewer_client, product, owner_person
):
    response = viewer_client.get(reverse("product-list"), {"owner": owner_person.pk})
    assert "Payroll" in response.content.decode()


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00+23:34", "9999-12-31T23:59:59-23:59"])
def test_updated_since_with_an_extreme_offset_is_not_a_server_error(viewer_client, product, value):
    response = viewer_client.get(reverse("product-list"), {"updated_since": value})

    assert response.status_code == 200
