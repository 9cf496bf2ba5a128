"""/api/v1/webhooks/: the secret shown once, 400s naming the field and the rule, the SSRF
guard, ETag/If-Match, the delivery log and redelivery."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.conftest import api_as
from tests.webhooks.conftest import make_endpoint
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

LIST = "/api/v1/webhooks/"
LOCAL = "http://127.0.0.1:9/hook"


def detail(pk: int) -> str:
    return f"{LIST}{pk}/"


def create(user, **data):
    body = {"url": LOCAL, "event_types": ["product.updated"], **data}
    return api_as(user).post(LIST, body, format="json")


def test_the_secret_is_made_and_answered_once(leader):
    response = create(leader, description="CMDB")

    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert Endpoint.objects.get().secret == body["secret"]
    read = api_as(leader).get(detail(body["id"]))
    assert "secret" not in read.json()
    assert read["ETag"] == 'W/"1"'
    listed = api_as(leader).get(LIST).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]


def test_a_given_secret_is_kept_and_a_short_one_refused(leader):
    assert create(leader, secret="my-own-secret-of-some-length").json()["secret"] == (
        "my-own-secret-of-some-length"
    )
    response = create(leader, secret="short")
    assert response.status_code == 400
    assert "secret" in response.json()["errors"]


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (["product.nope"], "Not an event type"),
        (["all", "product.updated"], '"all" alone'),
    ],
)
def test_bad_event_types_are_named(leader, types, message):
    response = create(leader, event_types=types)
    assert response.status_code == 400
    assert message in response.json()["errors"]["event_types"][0]


def test_all_and_nothing_are_valid_subscriptions(leader):
    assert create(leader, event_types=["all"]).json()["event_types"] == ["all"]
    assert create(leader, event_types=[]).json()["event_types"] == []


@pytest.mark.parametrize(
    ("url", "rule", "words"),
    [
        ("http://10.0.0.1/hook", "webhook_url_not_public", "private"),
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_not_public", "link-local"),
        ("http://[::1]/hook", "webhook_url_not_public", "loopback"),
        ("http://0.0.0.0/hook", "webhook_url_not_public", "unspecified"),
        ("http://224.0.0.1/hook", "webhook_url_not_public", "multicast"),
        ("ftp://example.org/hook", "webhook_url_scheme", "http or https"),
        ("not a url", "webhook_url_scheme", "http or https"),
        ("http://user:pw@example.org/", "webhook_url_invalid", "credentials"),
    ],
)
def test_unsafe_urls_are_refused_naming_url_and_the_rule(leader, url, rule, words):
    response = create(leader, url=url)

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["rule"] == rule
    assert words in body["errors"]["url"][0]
    assert not Endpoint.objects.exists()


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_localhost_is_refused_unless_its_network_is_allowed(leader):
    response = create(leader, url="http://localhost:8000/hook")
    assert response.status_code == 400
    assert response.json()["rule"] == "webhook_url_not_public"
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8", "::1/128"]):
        assert create(leader, url="http://localhost:8000/hook").status_code == 201


def test_an_edit_refuses_a_stale_if_match_and_names_the_current_version(leader):
    endpoint = make_endpoint(LOCAL)
    client = api_as(leader)

    ok = client.patch(
        detail(endpoint.pk), {"description": "New"}, format="json", HTTP_IF_MATCH='W/"1"'
    )
    stale = client.patch(
        detail(endpoint.pk), {"description": "Old"}, format="json", HTTP_IF_MATCH='W/"1"'
    )

    assert ok.status_code == 200 and ok["ETag"] == 'W/"2"'
    assert stale.status_code == 412
    assert stale.json()["current"]["description"] == "New"
    assert client.delete(detail(endpoint.pk), HTTP_IF_MATCH='W/"1"').status_code == 412
    assert client.delete(detail(endpoint.pk), HTTP_IF_MATCH='W/"2"').status_code == 204


def test_pausing_keeps_the_secret_and_resuming_forgets_the_failures(leader):
    endpoint = make_endpoint(LOCAL)
    Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=7)
    client = api_as(leader)

    paused = client.patch(detail(endpoint.pk), {"active": False}, format="json").json()
    resumed = client.patch(detail(endpoint.pk), {"active": True}, format="json").json()

    assert paused["active"] is False and paused["paused_at"] is not None
    assert resumed["active"] is True and resumed["consecutive_failures"] == 0
    assert Endpoint.objects.get().secret == endpoint.secret


def test_an_edit_to_an_unsafe_url_is_refused(leader):
    endpoint = make_endpoint(LOCAL)
    response = api_as(leader).patch(
        detail(endpoint.pk), {"url": "http://192.168.1.1/"}, format="json"
    )
    assert response.status_code == 400 and response.json()["rule"] == "webhook_url_not_public"
    assert Endpoint.objects.get().url == LOCAL


def test_rotating_answers_the_new_secret_once(leader):
    endpoint = make_endpoint(LOCAL)
    response = api_as(leader).post(f"{detail(endpoint.pk)}rotate-secret/", {}, format="json")
    assert response.status_code == 200
    secret = response.json()["secret"]
    assert secret != endpoint.secret and Endpoint.objects.get().secret == secret


def test_the_delivery_log_and_redeliver(leader, django_assert_num_queries):
    endpoint = make_endpoint(LOCAL)
    other = make_endpoint(LOCAL)
    deliveries = [
        Delivery.objects.create(
            endpoint=endpoint,
            position=n,
            event_type="product.updated",
            object_type="product",
            object_id=1,
            body="{}",
            status="delivered",
            attempts=1,
            response_code=200,
        )  # fmt: skip
        for n in range(1, 4)
    ]
    client = api_as(leader)

    log = client.get(f"{detail(endpoint.pk)}deliveries/").json()["results"]
    assert [d["id"] for d in log] == [d.pk for d in reversed(deliveries)]
    assert log[0]["status"] == "delivered" and log[0]["response_code"] == 200

    again = client.post(f"{detail(endpoint.pk)}deliveries/{deliveries[0].pk}/redeliver/")
    assert again.status_code == 202
    assert again.json()["redelivery_of"] == deliveries[0].pk
    assert again.json()["status"] == "pending"
    # A delivery of another endpoint is not found under this one.
    wrong = client.post(f"{detail(other.pk)}deliveries/{deliveries[0].pk}/redeliver/")
    assert wrong.status_code == 404


def test_the_delivery_log_costs_the_same_queries_at_any_length(leader, django_assert_num_queries):
    endpoint = make_endpoint(LOCAL)
    client = api_as(leader)

    def add(n):
        Delivery.objects.bulk_create(
            Delivery(
                endpoint=endpoint,
                position=i,
                event_type="x",
                object_type="product",
                object_id=i,
                body="{}",
            )  # fmt: skip
            for i in range(n)
        )

    add(2)
    client.get(f"{detail(endpoint.pk)}deliveries/")  # warm up (leader check, caches)
    with django_assert_num_queries(3) as small:
        client.get(f"{detail(endpoint.pk)}deliveries/")
    add(20)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(f"{detail(endpoint.pk)}deliveries/")
