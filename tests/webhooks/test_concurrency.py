"""Two workers at once: the fan-out cursor is held by one, the other fans out nothing (no
event becomes two deliveries); the ones it left are taken by the next tick."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from products.services import product_update
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.webhooks.conftest import make_endpoint
from webhooks import services
from webhooks.models import Delivery, FanOutCursor


@pytest.mark.django_db(transaction=True)
def test_a_fan_out_in_progress_is_skipped_not_doubled():
    leader = UserFactory(username="helena", leader=True)
    product = ProductFactory(name="Payroll", slug="payroll", owner=PersonFactory())
    make_endpoint("http://127.0.0.1:9/hook")
    services.fan_out()  # makes the cursor
    product_update(actor=leader, product=product, description="Salaries")  # committed
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                FanOutCursor.objects.select_for_update().get(pk=1)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(10)
        assert services.fan_out() == 0
        assert not Delivery.objects.exists()
    finally:
        release.set()
        thread.join()

    assert services.fan_out() == 1
    assert services.fan_out() == 0
    assert Delivery.objects.count() == 1
