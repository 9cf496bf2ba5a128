"""A move's cost and correctness: the statements one API move runs (token auth included), the
`position` it lands at (every item counts, closed ones too), the rare move that must make
room, and a move that waited for the backlog's lock seeing the move it waited for."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.services import api_token_create
from backlog import ranking
from backlog.models import BacklogItem, ItemStatus
from backlog.services import MAX_POSITION, backlog_item_move
from portfolio.models import Event
from tests.backlog.factories import BacklogItemFactory, make_backlog, titles
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory


def _move_url(item) -> str:
    return reverse("api-backlog-item-move", args=[item.pk])


def _token_client(user) -> Client:
    _, key = api_token_create(actor=user, name="sync")
    return Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_FORWARDED_PROTO="https")


def _post(client, item, body):
    return client.post(_move_url(item), body, content_type="application/json")


# Outside a test transaction (transaction=True), so the service's atomic block is the outermost
# one, as in a real request: no SAVEPOINT statements, the count is what production runs.
@pytest.mark.parametrize("who", ["owner", "leader"])
@pytest.mark.django_db(transaction=True)
def test_an_api_move_is_three_round_trips_and_begin_commit(who, django_assert_num_queries):
    owner = PersonFactory(name="Olivia", user=UserFactory(username="owner")).user
    actor = owner if who == "owner" else UserFactory(username="lead", leader=True)
    product = ProductFactory(owner=owner.person)
    items = make_backlog(product, 40, prefix="I")
    client = _token_client(actor)
    assert _post(client, items[5], {"position": 1}).status_code == 200  # stamps last_used_at
    # The token with its user (1); BEGIN (2); the backlog's lock and the move (read, check,
    # write, answer) as two statements in one message (3); the event (4); COMMIT (5). A
    # leader's group membership is found inside the move. (The bench's X-Query-Count sees 3:
    # Django's execute wrapper does not see BEGIN and COMMIT.)
    for body in (
        {"position": 30},
        {"position": MAX_POSITION},  # the pages' "bottom": one index probe, no scan
        {"position": 0},
        {"position": 999},
        {"before": items[20].pk},
        {"after": items[3].pk},
    ):
        with django_assert_num_queries(5):
            response = _post(client, items[10], body)
        assert response.status_code == 200, response.json()
        assert response.json()["rows_written"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_move_costs_no_more_and_writes_nothing(django_assert_num_queries):
    owner = PersonFactory(name="Olivia", user=UserFactory(username="owner")).user
    viewer = UserFactory(username="viewer")
    product = ProductFactory(owner=owner.person)
    items = make_backlog(product, 3, prefix="I")
    client = _token_client(viewer)
    _post(client, items[0], {"position": 2})
    with django_assert_num_queries(4):  # token, BEGIN, the lock and move (refused), ROLLBACK
        response = _post(client, items[0], {"position": 2})
    assert response.status_code == 403
    assert response.json()["rule"] == "unit_owner_or_leader"
    assert titles(product.unit) == ["I 0", "I 1", "I 2"]
    assert not Event.objects.filter(type="backlog_item.moved").exists()


@pytest.mark.django_db
def test_the_answer_and_the_event_carry_the_body_a_read_answers(product, owner):
    items = make_backlog(product, 5, prefix="I")
    client = _token_client(owner)
    response = _post(client, items[4], {"after": items[1].pk})
    assert response.status_code == 200
    moved = response.json()["item"]
    read = client.get(reverse("api-backlog-item-detail", args=[items[4].pk])).json()
    assert moved == read
    event = Event.objects.get(type="backlog_item.moved")
    assert event.data == read
    assert event.changed == {"rank": [items[4].rank, read["rank"]]}


@pytest.mark.django_db
def test_missing_item_and_missing_anchor(product, owner):
    items = make_backlog(product, 2, prefix="I")
    client = _token_client(owner)
    assert client.post("/api/v1/backlog-items/999999/move/", {"position": 0},
                       content_type="application/json").status_code == 404  # fmt: skip
    assert client.post("/api/v1/backlog-items/x1/move/", {"position": 0},
                       content_type="application/json").status_code == 404  # fmt: skip
    response = _post(client, items[0], {"before": 999999})
    assert response.status_code == 400
    assert response.json()["errors"]["before"] == ["No backlog item with id 999999."]
    response = _post(client, items[0], {"after": items[0].pk})
    assert response.status_code == 400
    assert "relative to itself" in response.json()["errors"]["after"][0]


# --- where `position` lands --------------------------------------------------------------------


STATUSES = [
    ItemStatus.PROPOSED,
    ItemStatus.DONE,
    ItemStatus.READY,
    ItemStatus.DECLINED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.DONE,
    ItemStatus.PROPOSED,
]


@pytest.mark.django_db
def test_every_position_of_every_item_counts_every_item_closed_ones_too(leader, product):
    # Closed (done, declined) items keep their place in the order and count in `position`.
    items = [
        BacklogItemFactory(product=product, title=f"I {i}", status=s)
        for i, s in enumerate(STATUSES)
    ]
    n = len(items)
    for item in items:
        for position in (0, 1, n // 2, n - 2, n - 1, n, n + 5, MAX_POSITION):
            order = titles(product.unit)
            order.remove(item.title)
            order.insert(min(position, len(order)), item.title)
            result = backlog_item_move(actor=leader, item=item, position=position)
            assert titles(product.unit) == order, (item.title, position)
            assert result.rows_written == 1
    ranks = list(BacklogItem.objects.values_list("rank", flat=True))
    assert len(ranks) == len(set(ranks)) == n


@pytest.mark.django_db
def test_position_in_a_backlog_of_one_and_of_two(leader, product):
    (only,) = make_backlog(product, 1, prefix="I")
    for position in (0, 1, 5):
        backlog_item_move(actor=leader, item=only, position=position)
        assert titles(product.unit) == ["I 0"]
    second = BacklogItemFactory(product=product, title="I 1")
    backlog_item_move(actor=leader, item=second, position=0)
    assert titles(product.unit) == ["I 1", "I 0"]
    backlog_item_move(actor=leader, item=second, position=1)
    assert titles(product.unit) == ["I 0", "I 1"]
    backlog_item_move(actor=leader, item=only, position=7)
    assert titles(product.unit) == ["I 1", "I 0"]


# --- no room left: the rebalance fallback --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_move_with_no_room_rebalances_in_more_statements_and_answers_the_same_body(
    monkeypatch, django_assert_max_num_queries
):
    owner = PersonFactory(name="Olivia", user=UserFactory(username="owner")).user
    product = ProductFactory(owner=owner.person)
    # Ranks 1, 2, 3, ...: no integer between any two neighbours.
    items = [BacklogItemFactory(product=product, title=f"I {i}", rank=i + 1) for i in range(30)]
    monkeypatch.setattr(ranking, "MIN_SPACING", 4)
    client = _token_client(owner)
    _post(client, items[0], {"position": 29})  # stamps last_used_at (and rebalances)
    expected = titles(product.unit)
    expected.remove("I 20")
    expected.insert(expected.index("I 5"), "I 20")
    # The rare path: the move statement finds no room (3), the window's ranks are read and
    # rewritten (a few more), the move runs again with the rank it found, then the event.
    with django_assert_max_num_queries(12):
        response = _post(client, items[20], {"before": items[5].pk})
    assert response.status_code == 200
    assert response.json()["rows_written"] > 1
    assert titles(product.unit) == expected
    read = client.get(reverse("api-backlog-item-detail", args=[items[20].pk])).json()
    assert response.json()["item"] == read
    ranks = list(BacklogItem.objects.values_list("rank", flat=True))
    assert len(ranks) == len(set(ranks))


# --- a move that waited for the lock sees the move it waited for ------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_move_that_waited_for_the_lock_places_against_the_committed_order():
    leader = UserFactory(username="leader", leader=True)
    product = ProductFactory(owner=None)
    a, b, c, d = make_backlog(product, 4, prefix="")
    moved = threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                backlog_item_move(actor=leader, item=d, position=0)  # d to the top
                moved.set()
                time.sleep(1.0)  # holds the backlog's lock while the main thread queues
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert moved.wait(timeout=30)
    # Queues on the lock; must see d at the top once it gets it, not d's old rank.
    backlog_item_move(actor=leader, item=c, before=d)
    thread.join(timeout=60)
    assert [t.strip() for t in titles(product.unit)] == ["2", "3", "0", "1"]
