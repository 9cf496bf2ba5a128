"""Fan-out and sending against a real HTTP receiver: signature, subscriptions, rollback,
order per object, retries, pausing and redelivery."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.core import mail
from django.db import transaction
from django.test import TestCase, override_settings
from django.utils import timezone

from portfolio.events import record
from products.services import product_update
from tests.portfolio.factories import UserFactory
from tests.products.factories import ProductFactory
from tests.webhooks.conftest import make_endpoint, place
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, Endpoint
from webhooks.signing import verify
from webhooks.tasks import run_tick

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret-0123456789"


def tick() -> dict:
    """What a worker's tick does, run here; what it dispatches on commit (the pause notice)
    runs too, as it would once the tick's transactions commit."""
    place()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return run_tick(budget=10)


def test_a_change_is_posted_signed_with_the_secret_over_t_dot_body(leader, product, receiver):
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")

    result = tick()

    assert result["delivered"] == 1
    (request,) = receiver.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Portfolio-Webhooks/")
    assert request.headers["X-Portfolio-Event"] == "product.updated"
    delivery = Delivery.objects.get()
    assert request.headers["X-Portfolio-Delivery"] == str(delivery.pk)
    signature = request.headers["X-Portfolio-Signature"]
    assert verify(SECRET, request.body, signature)
    assert not verify("whsec_another-secret-000000", request.body, signature)
    assert not verify(SECRET, request.body + b" ", signature)
    body = request.json
    assert body["type"] == "product.updated"
    assert body["object"] == {"type": "product", "id": product.pk}
    assert body["changed"]["description"][1] == "Salaries"
    assert body["actor"] == {"id": leader.pk, "name": leader.get_username()}
    assert body["data"]["id"] == product.pk
    assert set(body) == {"id", "type", "occurred_at", "actor", "object", "changed", "data"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)


def test_only_subscribed_types_are_sent(leader, product, receiver):
    make_endpoint(receiver.url, event_types=["product.transitioned"])
    make_endpoint(receiver.url, event_types=[])  # subscribed to nothing
    product_update(actor=leader, product=product, description="Salaries")
    record("product.transitioned", product, actor=leader, changed={"lifecycle_stage": ["a", "b"]})

    tick()

    assert receiver.types() == ["product.transitioned"]


def test_events_before_the_endpoint_existed_are_not_sent(leader, product, receiver):
    product_update(actor=leader, product=product, description="Before")
    place()
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="After")

    tick()

    assert [r.json["changed"]["description"][1] for r in receiver.requests] == ["After"]


def test_nothing_is_sent_for_a_rolled_back_change(leader, product, receiver):
    make_endpoint(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        product_update(actor=leader, product=product, description="Never")
        raise RuntimeError("the change fails after its event was recorded")

    assert tick().get("delivered", 0) == 0
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_deliveries_of_one_object_go_in_event_order_even_across_retries(leader, receiver):
    a, b = ProductFactory(name="A"), ProductFactory(name="B")
    make_endpoint(receiver.url)
    for n in range(3):
        product_update(actor=leader, product=a, description=f"a{n}")
    product_update(actor=leader, product=b, description="b0")
    failed = []

    def fail_a0_once(received):  # a0 fails once: it is retried, a1 and a2 must wait
        if received.json["changed"]["description"][1] == "a0" and not failed:
            failed.append(received)
            return 500
        return None

    receiver.decide = fail_a0_once

    with override_settings(WEBHOOK_RETRY_SCHEDULE=[0.2, 0.2]):
        tick()
        assert Delivery.objects.filter(status="delivered").count() == 1  # b0 does not wait
        time.sleep(0.3)
        tick()
        for _ in range(3):  # one delivery per object per batch: a1, then a2
            tick()

    sent = [r.json["changed"]["description"][1] for r in receiver.requests]
    assert [s for s in sent if s.startswith("a")] == ["a0", "a0", "a1", "a2"]
    assert sorted(set(sent)) == ["a0", "a1", "a2", "b0"]


def test_500_then_200_is_retried_and_delivered_with_two_attempts(leader, product, receiver):
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    receiver.answers = [500]

    with override_settings(WEBHOOK_RETRY_SCHEDULE=[0.2]):
        tick()
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.response_code) == ("retrying", 500)
        assert "500" in delivery.error
        tick()  # not due yet
        assert len(receiver.requests) == 1
        time.sleep(0.3)
        tick()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 200)
    assert delivery.error == ""
    ids = {r.headers["X-Portfolio-Delivery"] for r in receiver.requests}
    assert ids == {str(delivery.pk)}  # the same id each time: the receiver de-duplicates


@override_settings(WEBHOOK_RETRY_SCHEDULE=[0, 0], WEBHOOK_PAUSE_AFTER=100)
def test_a_spent_schedule_pauses_the_endpoint_and_tells_the_leaders(leader, product, receiver):
    endpoint = make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    receiver.answers = [500, 502, 503]

    for _ in range(3):
        tick()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "every attempt" in endpoint.paused_reason
    assert endpoint.pause_notice_sent_at is not None
    (notice,) = mail.outbox
    assert notice.to == [leader.email]
    assert receiver.url in notice.body
    # Paused: a new change is not sent, and not even queued.
    product_update(actor=leader, product=product, description="While paused")
    tick()
    assert len(receiver.requests) == 3
    assert Delivery.objects.count() == 1


@override_settings(WEBHOOK_RETRY_SCHEDULE=[0] * 10, WEBHOOK_PAUSE_AFTER=3)
def test_n_failures_in_a_row_pause_the_endpoint_and_resuming_sends_what_waits(
    leader, product, receiver
):
    endpoint = make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    receiver.answers = [500, 500, 500]
    for _ in range(4):
        tick()
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.consecutive_failures == 3
    assert len(mail.outbox) == 1
    assert Delivery.objects.get().status == "retrying"

    services.endpoint_update(actor=leader, endpoint_id=endpoint.pk, active=True)
    tick()

    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0
    assert Delivery.objects.get().status == "delivered"
    assert len(receiver.requests) == 4


def test_redeliver_sends_the_same_body_as_a_new_delivery(leader, product, receiver):
    endpoint = make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    tick()
    original = Delivery.objects.get()

    copy = services.delivery_redeliver(
        actor=leader, endpoint_id=endpoint.pk, delivery_id=original.pk
    )
    tick()

    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["X-Portfolio-Delivery"] == str(copy.pk) != str(original.pk)
    copy.refresh_from_db()
    assert copy.status == "delivered" and copy.redelivery_of_id == original.pk


def test_a_delivery_survives_its_event_being_pruned(leader, product, receiver):
    endpoint = make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    place()
    services.fan_out()
    delivery = Delivery.objects.get()
    delivery.event.delete()

    tick()

    delivery.refresh_from_db()
    assert delivery.event_id is None and delivery.status == DeliveryStatus.DELIVERED
    assert json.loads(receiver.requests[0].body)["changed"]["description"][1] == "Salaries"
    assert endpoint.deliveries.count() == 1


def test_ping_is_sent_at_once(leader, receiver):
    endpoint = make_endpoint(receiver.url)
    services.endpoint_ping(actor=leader, endpoint_id=endpoint.pk)
    tick()
    assert receiver.types() == ["ping"]


def test_a_url_that_turned_private_is_refused_at_send_time(leader, product, receiver):
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")

    with override_settings(WEBHOOK_ALLOWED_NETWORKS=[], WEBHOOK_RETRY_SCHEDULE=[60]):
        tick()

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying" and "loopback" in delivery.error
    assert Endpoint.objects.get().consecutive_failures == 1
    assert UserFactory  # factories import kept for the API tests


def test_a_worker_dying_mid_send_leaves_the_delivery_to_be_sent_again(leader, product, receiver):
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    place()
    services.fan_out()
    # A worker claims the delivery (the attempt is counted and leased) and dies before sending.
    (claimed,) = services._claim(10)
    assert tick().get("delivered", 0) == 0  # leased: nobody else takes it meanwhile
    Delivery.objects.filter(pk=claimed.pk).update(next_attempt_at=claimed.last_attempt_at)

    tick()  # the lease ran out

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    (request,) = receiver.requests
    assert request.headers["X-Portfolio-Delivery"] == str(delivery.pk)


def test_an_outcome_is_not_written_over_a_later_attempt(leader, product, receiver):
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Salaries")
    place()
    services.fan_out()
    (slow,) = services._claim(10)  # a worker whose send outlived its lease
    Delivery.objects.filter(pk=slow.pk).update(next_attempt_at=slow.last_attempt_at)
    tick()  # another worker sends it: delivered at attempt 2

    services._record([slow], [services.sender.Outcome(False, 500, "late", 5000)])

    assert Delivery.objects.get().status == "delivered"


@override_settings(WEBHOOK_LOG_DAYS=30)
def test_pruning_deletes_old_finished_deliveries_only(receiver):
    endpoint = make_endpoint(receiver.url)
    old = timezone.now() - dt.timedelta(days=31)

    def make(status, created_at):
        return Delivery.objects.create(
            endpoint=endpoint, position=1, event_type="x", object_type="product", object_id=1,
            body="{}", status=status, created_at=created_at,
        )  # fmt: skip

    gone = [make("delivered", old), make("failed", old)]
    kept = [make("retrying", old), make("pending", old), make("delivered", timezone.now())]

    assert services.prune_deliveries() == 2

    assert set(Delivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert not Delivery.objects.filter(pk__in=[d.pk for d in gone]).exists()
