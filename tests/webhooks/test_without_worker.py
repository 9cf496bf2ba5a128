"""A server without a broker (make demo): no worker, no beat, so a commit runs the tick in a
thread of the web process and the receiver still hears of the change within seconds."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from products.services import product_update
from tests.products.factories import ProductFactory
from tests.webhooks.conftest import make_endpoint
from webhooks import nudge
from webhooks.models import Delivery
from webhooks.signing import verify

SECRET = "whsec_test-secret-0123456789"


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s")
        time.sleep(0.05)


def idle() -> bool:
    with nudge._here_lock:
        return not nudge._here_running


@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOK_SEND_WITHOUT_WORKER=True)
def test_a_committed_change_is_sent_by_the_web_process_itself(leader, receiver):
    product = ProductFactory(name="Payroll", slug="payroll")
    make_endpoint(receiver.url)

    for n in range(3):  # three commits, each nudging; none is lost or sent twice
        product_update(actor=leader, product=product, description=f"v{n}")

    wait_for(lambda: len(receiver.requests) == 3 and idle())
    bodies = [r.json for r in receiver.requests]
    assert [b["changed"]["description"][1] for b in bodies] == ["v0", "v1", "v2"]
    assert all(
        verify(SECRET, r.body, r.headers["X-Portfolio-Signature"]) for r in receiver.requests
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_with_the_setting_off_an_eager_process_sends_nothing(leader, receiver):
    product = ProductFactory(name="Payroll", slug="payroll")
    make_endpoint(receiver.url)
    product_update(actor=leader, product=product, description="Quiet")
    time.sleep(1.0)
    assert receiver.requests == []
    assert not Delivery.objects.exists()
