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


# --- Events written already placed (record_batch's place_now: the bulk upsert) -------------

EVNT = 0x45564E54  # the commit trigger's advisory lock (migrations 0010 and 0012)


def waiting_for_the_event_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = 0 AND objid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            [EVNT],
        )
        return cursor.fetchone()[0]


# 300 events go by COPY after a round trip that takes their positions; 3 go by one INSERT
# whose message takes the lock and each row's position as it is written.
@pytest.mark.parametrize("size", [300, 3])
@pytest.mark.django_db(transaction=True)
def test_a_batch_placed_as_it_is_written_keeps_commit_order(size):
    """A batch that takes its positions as it is written holds the lock to its commit: a
    transaction that commits meanwhile waits, then comes after it; a reader in between sees
    neither."""
    from portfolio.events import Entry, record_batch

    leader = UserFactory(username="leader", leader=True)
    product, other = ProductFactory(name="Batch"), ProductFactory(name="Other")
    start = feed(leader, 0)["cursor"]
    batch_written, batch_may_commit, other_committed = (threading.Event() for _ in range(3))
    failures: list[BaseException] = []

    def batch() -> None:
        with transaction.atomic():
            record_batch(
                [Entry("product.updated", product.pk, {"n": [n, n + 1]}) for n in range(size)],
                actor=leader,
                data=None,
                place_now=True,
            )
            placed = Event.objects.filter(object_id=product.pk, position__isnull=False)
            assert placed.count() == size  # placed as written, not at commit
            batch_written.set()
            assert batch_may_commit.wait(WAIT)

    def meanwhile() -> None:
        assert batch_written.wait(WAIT)
        with transaction.atomic():
            product_update(actor=leader, product=other, description="Committed meanwhile")
        other_committed.set()

    threads = [in_thread(batch, failures), in_thread(meanwhile, failures)]
    assert batch_written.wait(WAIT), failures
    for _ in range(WAIT * 20):  # until the other transaction's commit waits for the lock
        if waiting_for_the_event_lock() or failures:
            break
        threading.Event().wait(0.05)
    assert waiting_for_the_event_lock(), failures
    assert not other_committed.is_set()
    assert feed(leader, start)["results"] == []  # neither is visible yet

    batch_may_commit.set()
    for thread in threads:
        thread.join(WAIT)
    assert not failures

    page = api_as(leader).get(f"/api/v1/events/?after={start}&page_size=1000").json()
    assert [e["object_id"] for e in page["results"]] == [product.pk] * size + [other.pk]
    placed = list(
        Event.objects.filter(object_id=product.pk).order_by("id").values_list("position", flat=True)
    )
    assert placed == list(range(placed[0], placed[0] + size))
    assert Event.objects.get(object_id=other.pk, type="product.updated").position > placed[-1]


@pytest.mark.django_db(transaction=True)
def test_a_placed_batch_after_unplaced_events_comes_after_them():
    """Events the transaction recorded earlier (placed at commit) are placed before the batch
    takes its positions, so the feed keeps them in the order they were written."""
    from portfolio.events import Entry, record_batch

    product = ProductFactory(name="Mixed")
    with transaction.atomic():
        record_batch([Entry("product.updated", product.pk, {"n": [0, 1]})], actor=None, data=None)
        record_batch(
            [Entry("product.updated", product.pk, {"n": [n, n + 1]}) for n in range(1, 250)],
            actor=None,
            data=None,
            place_now=True,
        )
    rows = list(Event.objects.filter(object_id=product.pk).order_by("position"))
    assert [e.changed["n"][0] for e in rows] == list(range(250))
    positions = [e.position for e in rows]
    assert positions == list(range(positions[0], positions[0] + 250))


@pytest.mark.django_db
def test_every_deferrable_constraint_is_initially_deferred():
    """`record_batch(place_now=True)` runs the deferred checks early, then restores the mode
    with `SET CONSTRAINTS ALL DEFERRED`: that is the default only while no constraint or
    constraint trigger is deferrable and initially immediate."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
            "WHERE condeferrable AND NOT condeferred "
            "UNION ALL SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger "
            "WHERE tgdeferrable AND NOT tginitdeferred"
        )
        assert cursor.fetchall() == []


# --- A backlog move that is its own transaction (the API's and the pages' moves) ----------


@pytest.mark.django_db(transaction=True)
def test_a_move_that_is_its_own_transaction_places_its_event_as_it_writes_it():
    """Its event is the move's last write: it takes the feed lock and its position with its
    INSERT (no rewrite by the commit trigger), and a transaction committing meanwhile waits
    and comes after it in the feed."""
    from backlog.services import backlog_item_move
    from tests.backlog.factories import make_backlog

    leader = UserFactory(username="leader", leader=True)
    product, other = ProductFactory(name="Moves"), ProductFactory(name="Other")
    items = make_backlog(product, 3, prefix="I")
    start = feed(leader, 0)["cursor"]
    inserted, may_commit, other_committed = (threading.Event() for _ in range(3))
    failures: list[BaseException] = []

    def hold_after_the_event(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if 'INSERT INTO "portfolio_event"' in sql and "portfolio_event_reserve(1)" in sql:
            inserted.set()
            assert may_commit.wait(WAIT)
        return result

    def move() -> None:
        with connection.execute_wrapper(hold_after_the_event):
            backlog_item_move(actor=leader, item=items[2], position=0)

    def meanwhile() -> None:
        assert inserted.wait(WAIT)
        with transaction.atomic():
            product_update(actor=leader, product=other, description="Committed meanwhile")
        other_committed.set()

    threads = [in_thread(move, failures), in_thread(meanwhile, failures)]
    assert inserted.wait(WAIT), failures
    for _ in range(WAIT * 20):
        if waiting_for_the_event_lock() or failures:
            break
        threading.Event().wait(0.05)
    assert waiting_for_the_event_lock(), failures
    assert not other_committed.is_set()
    may_commit.set()
    for thread in threads:
        thread.join(WAIT)
    assert not failures
    page = feed(leader, start)["results"]
    assert [(e["type"], e["object_id"]) for e in page] == [
        ("backlog_item.moved", items[2].pk),
        ("product.updated", other.pk),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_move_inside_a_larger_transaction_leaves_its_event_to_the_commit_trigger():
    """Nested in a caller's transaction, the move is not the last write before the commit: its
    event is written unplaced and placed at the commit, with the caller's other events."""
    from backlog.services import backlog_item_move
    from tests.backlog.factories import make_backlog

    leader = UserFactory(username="leader", leader=True)
    product = ProductFactory(name="Nested")
    items = make_backlog(product, 3, prefix="I")
    with transaction.atomic():
        backlog_item_move(actor=leader, item=items[2], position=0)
        moved = Event.objects.get(type="backlog_item.moved", object_id=items[2].pk)
        assert moved.position is None
        product_update(actor=leader, product=product, description="After the move")
    rows = list(
        Event.objects.filter(type__in=["backlog_item.moved", "product.updated"])
        .filter(at__gte=moved.at)
        .order_by("position")
        .values_list("type", flat=True)
    )
    assert rows == ["backlog_item.moved", "product.updated"]
