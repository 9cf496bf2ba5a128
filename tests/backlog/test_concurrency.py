"""Parallel clients reordering one backlog: moves queue up on the backlog's lock, none is lost.

Each thread has its own database connection. Every move is logged while its transaction still
holds the backlog lock, so the log is the order in which the moves really happened; replaying
the log on a plain list must give exactly the stored order.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, transaction

from backlog import ranking
from backlog.models import BacklogItem
from backlog.services import backlog_item_create, backlog_item_move
from portfolio.errors import StaleVersion
from products.services import product_set_cluster
from tests.backlog.factories import make_backlog, titles
from tests.portfolio.factories import ClusterFactory, UserFactory
from tests.products.factories import ProductFactory

THREADS = 4
MOVES_PER_THREAD = 15
ITEMS = 30


def _stored(unit_id) -> list[int]:
    return list(
        BacklogItem.objects.filter(unit_id=unit_id).order_by("rank").values_list("id", flat=True)
    )


def _replay(order: list[int], log: list[tuple]) -> list[int]:
    order = list(order)
    for item_id, kind, target in log:
        order.remove(item_id)
        if kind == "position":
            order.insert(min(target, len(order)), item_id)
        elif kind == "before":
            order.insert(order.index(target), item_id)
        else:
            order.insert(order.index(target) + 1, item_id)
    return order


@pytest.mark.parametrize(
    ("gap", "min_spacing"), [(1 << 20, 1 << 10), (4, 1)], ids=["normal-gaps", "tiny-gaps"]
)
@pytest.mark.django_db(transaction=True)
def test_parallel_moves_are_serialised_and_none_is_lost(monkeypatch, gap, min_spacing):
    # Tiny gaps make most moves rebalance a window, while other threads wait on the lock.
    monkeypatch.setattr(ranking, "GAP", gap)
    monkeypatch.setattr(ranking, "MIN_SPACING", min_spacing)
    leader = UserFactory(username="leader", leader=True)
    product = ProductFactory(owner=None)
    unit_id = product.unit_id
    make_backlog(product, ITEMS, prefix="I")
    initial = _stored(unit_id)

    log: list[tuple] = []
    log_lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait(timeout=30)
            for _ in range(MOVES_PER_THREAD):
                item_id, anchor_id = rng.sample(initial, 2)
                kind = rng.choice(["position", "before", "after"])
                target = rng.randrange(ITEMS + 2) if kind == "position" else anchor_id
                item = BacklogItem(pk=item_id, unit_id=unit_id)
                with transaction.atomic():
                    if kind == "position":
                        backlog_item_move(actor=leader, item=item, position=target)
                    else:
                        anchor = BacklogItem(pk=anchor_id, unit_id=unit_id)
                        backlog_item_move(actor=leader, item=item, **{kind: anchor})
                    # Still inside the transaction, so still holding the backlog lock.
                    with log_lock:
                        log.append((item_id, kind, target))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == []
    assert len(log) == THREADS * MOVES_PER_THREAD

    final = _stored(unit_id)
    ranks = list(BacklogItem.objects.filter(unit_id=unit_id).values_list("rank", flat=True))
    assert len(final) == ITEMS and sorted(final) == sorted(initial)
    assert len(set(ranks)) == ITEMS
    assert final == _replay(initial, log)


def _join_in_background(leader, product, cluster) -> tuple[threading.Thread, threading.Event]:
    """Join `product` to `cluster` in another connection and hold its locks for a moment."""
    joined = threading.Event()

    def join() -> None:
        try:
            with transaction.atomic():
                product_set_cluster(actor=leader, product=product, cluster=cluster)
                joined.set()
                time.sleep(1.0)  # the main thread's call reads the old unit, then queues
        finally:
            connection.close()

    thread = threading.Thread(target=join)
    thread.start()
    assert joined.wait(timeout=30)
    return thread, joined


@pytest.mark.django_db(transaction=True)
def test_an_item_added_while_its_product_joins_a_cluster_lands_in_the_cluster():
    leader = UserFactory(username="leader", leader=True)
    cluster = ClusterFactory(owner=None)
    member = ProductFactory(owner=None, cluster=cluster)
    joining = ProductFactory(owner=None)
    make_backlog(member, 2, prefix="C")
    make_backlog(joining, 2, prefix="P")
    own_unit_id = joining.unit_id

    thread, _ = _join_in_background(leader, joining, cluster)
    created = backlog_item_create(actor=leader, product=joining, title="Raised meanwhile")
    thread.join(timeout=60)

    assert created.unit_id == cluster.unit.pk
    assert titles(cluster.unit) == ["C 0", "C 1", "P 0", "P 1", "Raised meanwhile"]
    assert not BacklogItem.objects.filter(unit_id=own_unit_id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_move_racing_a_cluster_join_is_refused_not_misplaced():
    leader = UserFactory(username="leader", leader=True)
    cluster = ClusterFactory(owner=None)
    member = ProductFactory(owner=None, cluster=cluster)
    joining = ProductFactory(owner=None)
    make_backlog(member, 2, prefix="C")
    held = make_backlog(joining, 2, prefix="P")

    thread, _ = _join_in_background(leader, joining, cluster)
    with pytest.raises(StaleVersion):
        backlog_item_move(actor=leader, item=held[1], position=0)
    thread.join(timeout=60)

    assert titles(cluster.unit) == ["C 0", "C 1", "P 0", "P 1"]
    ranks = list(BacklogItem.objects.values_list("rank", flat=True))
    assert len(ranks) == len(set(ranks))
