"""Property: any sequence of inserts, moves and deletes keeps the stored order equal to a
plain Python list, across rebalances (tiny gaps force them often)."""

from unittest import mock

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from backlog import ranking
from backlog.models import BacklogItem
from backlog.services import backlog_item_create, backlog_item_delete, backlog_item_move
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

# Small indexes half of the time, so inserts and moves keep landing in the same few gaps.
index = st.integers(min_value=0, max_value=40) | st.integers(min_value=0, max_value=2)
operation = st.one_of(
    st.tuples(st.just("insert"), index),
    st.tuples(st.just("move"), index, index),
    st.tuples(st.just("move_before"), index, index),
    st.tuples(st.just("move_after"), index, index),
    st.tuples(st.just("delete"), index),
)


def _stored(unit) -> list[int]:
    return list(BacklogItem.objects.filter(unit=unit).order_by("rank").values_list("id", flat=True))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=40))
# Always include a sequence that squeezes one gap until it must rebalance.
@example(
    ops=[
        ("insert", 0),
        ("insert", 1),
        ("insert", 1),
        ("insert", 1),
        ("insert", 1),
        ("move", 0, 1),
        ("move_before", 3, 1),
        ("delete", 2),
        ("insert", 1),
    ]
)
def test_any_sequence_keeps_the_order_of_a_list_model(ops, leader):
    product = ProductFactory(owner=None)
    unit = product.unit
    model: list[int] = []
    rows_written = []
    with mock.patch.multiple(ranking, GAP=2, MIN_SPACING=2, FIRST_WINDOW=1):
        for op in ops:
            kind = op[0]
            if kind == "insert":
                item = backlog_item_create(
                    actor=leader, product=product, title=f"item {len(model)}"
                )
                pos = op[1] % (len(model) + 1)
                result = backlog_item_move(actor=leader, item=item, position=pos)
                rows_written.append((result.rows_written, len(model) + 1))
                model.insert(pos, item.pk)
            elif not model:
                continue
            elif kind == "delete":
                victim = model.pop(op[1] % len(model))
                backlog_item_delete(actor=leader, item=BacklogItem.objects.get(pk=victim))
            else:
                item_id = model[op[1] % len(model)]
                item = BacklogItem.objects.get(pk=item_id)
                others = [i for i in model if i != item_id]
                if kind == "move":
                    pos = op[2] % (len(others) + 1)
                    result = backlog_item_move(actor=leader, item=item, position=pos)
                elif not others:
                    continue
                else:
                    anchor_id = others[op[2] % len(others)]
                    anchor = BacklogItem.objects.get(pk=anchor_id)
                    pos = others.index(anchor_id) + (1 if kind == "move_after" else 0)
                    key = "after" if kind == "move_after" else "before"
                    result = backlog_item_move(actor=leader, item=item, **{key: anchor})
                rows_written.append((result.rows_written, len(model)))
                others.insert(pos, item_id)
                model = others
            assert _stored(unit) == model
    ranks = list(BacklogItem.objects.filter(unit=unit).values_list("rank", flat=True))
    assert len(ranks) == len(set(ranks))
    event(f"rebalanced: {any(n > 1 for n, _ in rows_written)}")
    # A move writes its own row plus, at most, the other items of the backlog at the time.
    assert all(1 <= n <= size for n, size in rows_written)


def test_rebalance_is_bounded_to_a_window(leader):
    """Many inserts at one spot in a long backlog rewrite a window, never the whole list."""
    product = ProductFactory(owner=None)
    for i in range(200):
        backlog_item_create(actor=leader, product=product, title=f"item {i}")
    with mock.patch.multiple(ranking, MIN_SPACING=2):
        written = []
        for i in range(40):
            item = backlog_item_create(actor=leader, product=product, title=f"squeeze {i}")
            written.append(backlog_item_move(actor=leader, item=item, position=100).rows_written)
    assert max(written) < 200 // 2
    assert sum(1 for n in written if n > 1) >= 1  # the squeeze did force a rebalance
    ranks = list(BacklogItem.objects.filter(unit=product.unit).values_list("rank", flat=True))
    assert len(ranks) == len(set(ranks)) == 240
