"""Small things that cost trust (issue 16, item 7): a decision with no default, disabled
logins kept out of owner pickers, plurals and numbers, the conflict view in words, forms
shown only to those who may submit them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from products.models import Product
from reviews import services as review_services
from reviews.models import ActionItem, Decision, Review
from tests.conftest import api_as
from tests.pages.conftest import HTMX
from tests.portfolio.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_person(db):
    """Someone still employed whose login was disabled."""
    return PersonFactory(name="Lou Locked", user=UserFactory(username="lou", is_active=False))


@pytest.fixture
def review(leader, product, other_product) -> Review:
    cycle = review_services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle
    return Review.objects.get(cycle=cycle, unit_id=product.unit_id)


# --- the decision has no default ----------------------------------------------------------------


def test_decision_select_starts_empty(leader_client, review):
    html = leader_client.get(
        reverse("review-meeting-review", args=[review.cycle_id, review.pk])
    ).content.decode()
    select = html[html.index(f'id="decision{review.pk}_kind"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>Choose...</option>' in select
    assert "selected" not in select.replace('<option value="" selected>', "")


def test_decision_without_a_choice_is_a_form_error_on_the_field(leader_client, review):
    response = leader_client.post(
        reverse("review-decision-create", args=[review.pk]),
        {"from": "meeting", "rationale": "Half typed"},
        headers=HTMX,
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a decision" in html
    assert "has-errors" in html
    assert not Decision.objects.exists()


def test_api_decision_needs_a_kind(review, leader):
    response = api_as(leader).post(
        "/api/v1/decisions/", {"review": review.pk, "rationale": "No kind"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


# --- disabled logins are not offered as owners ---------------------------------------------------


def test_action_owner_picker_leaves_out_disabled_logins(leader_client, review, locked_person):
    html = leader_client.get(
        reverse("review-meeting-review", args=[review.cycle_id, review.pk])
    ).content.decode()
    assert "Olivia Owner" in html
    assert "Lou Locked" not in html
    response = leader_client.post(
        reverse("review-action-create", args=[review.pk]),
        {"title": "Ask Lou", "owner": str(locked_person.pk)},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_product_owner_picker_leaves_out_disabled_logins(leader_client, product, locked_person):
    url = reverse("product-edit", args=[product.slug])
    assert "Lou Locked" not in leader_client.get(url).content.decode()
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "Expense claims",
            "kind": "service",
            "lifecycle_stage": "introduction",
            "criticality": "medium",
            "management_model": "product",
            "owner": locked_person.pk,
        },
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert not Product.objects.filter(name="Expense claims").exists()


def test_cluster_owner_picker_leaves_out_disabled_logins(leader_client, cluster, locked_person):
    url = reverse("cluster-edit", args=[cluster.slug])
    html = leader_client.get(url).content.decode()
    assert "Lou Locked" not in html
    response = leader_client.post(
        url, {"name": cluster.name, "slug": cluster.slug, "owner": locked_person.pk}
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.unit.owner_id != locked_person.pk
