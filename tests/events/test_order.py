"""The feed's order is commit order: an event that took a lower id but commits later is still
read by a client that has already paged past the higher one. Two real transactions on two
connections, committed in the opposite order of their ids."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from portfolio.models import Event
from products.services import product_update
from tests.conftest import api_as
from tests.portfolio.factories import UserFactory
from tests.products.factories import ProductFactory

WAIT = 60  # seconds; only a hung test ever waits this long


def in_thread(body: Callable[[], None], failures: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            body()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def feed(user, after: int) -> dict:
    response = api_as(user).get(f"/api/v1/events/?after={after}")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_a_late_commit_with_a_lower_id_is_read_after_the_cursor():
    leader = UserFactory(username="leader", leader=True)
    first, second = ProductFactory(name="First"), ProductFactory(name="Second")
    start = feed(leader, 0)["cursor"]
    early_recorded, late_committed, early_may_commit = (threading.Event() for _ in range(3))
    failures: list[BaseException] = []

    def early() -> None:
        """Records first (the lower id), commits last."""
        with transaction.atomic():
            product_update(actor=leader, product=first, description="Early id, late commit")
            early_recorded.set()
            assert early_may_commit.wait(WAIT)

    def late() -> None:
        assert early_recorded.wait(WAIT)
        with transaction.atomic():
            product_update(actor=leader, product=second, description="Late id, early commit")
        late_committed.set()

    threads = [in_thread(early, failures), in_thread(late, failures)]
    assert late_committed.wait(WAIT), failures

    page = feed(leader, start)
    assert [e["object_id"] for e in page["results"]] == [second.pk]
    cursor = page["cursor"]

    early_may_commit.set()
    for thread in threads:
        thread.join(WAIT)
    assert not failures

    page = feed(leader, cursor)
    assert [e["object_id"] for e in page["results"]] == [first.pk]
    early_event = Event.objects.get(object_id=first.pk, type="product.updated")
    late_event = Event.objects.get(object_id=second.pk, type="product.updated")
    assert early_event.pk < late_event.pk  # ids in the order they were taken ...
    assert early_event.position > late_event.position  # ... positions in commit order


@pytest.mark.django_db(transaction=True)
def test_a_committed_batch_gets_contiguous_positions_in_id_order():
    from portfolio.events import Entry, record_batch

    product = ProductFactory(name="Batch")
    with transaction.atomic():
        record_batch(
            [Entry("product.updated", product.pk, {"n": [n, n + 1]}) for n in range(3000)],
            actor=None,
            job="test",
            data=None,
        )
        assert not Event.objects.filter(position__isnull=False).exists()  # not before commit

    placed = list(Event.objects.order_by("id").values_list("position", flat=True))
    assert len(placed) == 3000
    assert placed == list(range(placed[0], placed[0] + 3000))
