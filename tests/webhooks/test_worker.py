"""A real Celery worker fans out and sends: the commit's nudge reaches it through Redis, and
the receiver gets the change signed, once."""

from __future__ import annotations

import pytest
from django.db import transaction

from products.services import product_update
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.webhooks.conftest import make_endpoint
from tests.worker import wait_for
from webhooks import nudge
from webhooks.models import Delivery
from webhooks.signing import verify

pytestmark = pytest.mark.worker


def test_a_committed_change_reaches_the_receiver_through_a_worker(worker, receiver):
    leader = UserFactory(username="helena", leader=True)
    product = ProductFactory(name="Payroll", slug="payroll", owner=PersonFactory())
    endpoint = make_endpoint(receiver.url, event_types=["product.updated"])
    nudge._last = 0.0  # this process has not nudged yet

    with transaction.atomic():
        for n in range(3):
            product_update(actor=leader, product=product, description=f"v{n}")

    wait_for(lambda: len(receiver.requests) >= 3, 60, "not every change arrived", worker["log"])
    wait_for(
        lambda: Delivery.objects.filter(status="delivered").count() == 3,
        30,
        "the outcomes were not stored",
        worker["log"],
    )
    assert [r.json["changed"]["description"][1] for r in receiver.requests] == ["v0", "v1", "v2"]
    assert all(verify(endpoint.secret, r.body, r.headers["X-Portfolio-Signature"])
               for r in receiver.requests)  # fmt: skip
    assert len({r.headers["X-Portfolio-Delivery"] for r in receiver.requests}) == 3
    assert "webhooks.tasks.webhook_tick" in worker["log"].read_text()
