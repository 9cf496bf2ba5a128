"""/settings/webhooks/: a new endpoint's secret shown once, the paused state in plain sight,
the delivery log, and the link on the settings page for leaders only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.webhooks.conftest import make_endpoint
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

LOCAL = "http://127.0.0.1:9/hook"


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_endpoint_shows_its_secret_once(leader):
    client = client_of(leader)
    data = {"url": LOCAL, "description": "CMDB", "event_types": ["product.updated"], "active": "on"}

    made = client.post(reverse("webhook-list"), data)

    endpoint = Endpoint.objects.get()
    assert made.status_code == 200
    assert endpoint.secret in made.content.decode()
    assert endpoint.event_types == ["product.updated"] and endpoint.description == "CMDB"
    assert endpoint.secret not in client.get(reverse("webhook-list")).content.decode()
    assert (
        endpoint.secret
        not in client.get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
    )


def test_an_unsafe_url_is_a_form_error(leader):
    response = client_of(leader).post(reverse("webhook-list"), {"url": "http://10.0.0.1/"})
    assert response.status_code == 400
    assert "private address" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_paused_endpoint_says_so_and_why(leader):
    endpoint = make_endpoint(LOCAL, active=False, paused_reason="20 deliveries failed in a row.")
    page = client_of(leader).get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
    assert 'id="paused-banner"' in page and "20 deliveries failed in a row." in page
    listing = client_of(leader).get(reverse("webhook-list")).content.decode()
    assert "Paused" in listing


def test_the_log_shows_each_delivery_with_its_redeliver_button(leader):
    endpoint = make_endpoint(LOCAL)
    delivery = Delivery.objects.create(
        endpoint=endpoint, position=1, event_type="product.updated", object_type="product",
        object_id=5, body="{}", status="retrying", attempts=2, response_code=503,
        error="The receiver answered 503.",
    )  # fmt: skip
    page = client_of(leader).get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
    assert "The receiver answered 503." in page and "503" in page
    assert reverse("webhook-redeliver", args=[endpoint.pk, delivery.pk]) in page

    client_of(leader).post(reverse("webhook-redeliver", args=[endpoint.pk, delivery.pk]))
    assert Delivery.objects.filter(redelivery_of=delivery).count() == 1


def test_a_stale_edit_is_a_conflict_not_an_overwrite(leader):
    endpoint = make_endpoint(LOCAL)
    Endpoint.objects.filter(pk=endpoint.pk).update(version=2, description="Theirs")
    response = client_of(leader).post(
        reverse("webhook-detail", args=[endpoint.pk]),
        {"url": LOCAL, "description": "Mine", "event_types": ["all"], "version": 1},
    )
    assert response.status_code == 409
    assert Endpoint.objects.get().description == "Theirs"


def test_the_settings_page_links_webhooks_for_leaders_only(leader, viewer):
    assert 'id="webhooks-link"' in client_of(leader).get(reverse("settings")).content.decode()
    assert 'id="webhooks-link"' not in client_of(viewer).get(reverse("settings")).content.decode()
