"""Backlog services: items, order, rebalancing, membership and lifecycle effects, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backlog import ranking
from backlog.models import BacklogItem, ItemStatus
from backlog.services import (
    backlog_item_create,
    backlog_item_delete,
    backlog_item_move,
    backlog_item_update,
    backlog_items_bulk_update,
)
from portfolio.errors import Forbidden, RuleViolation, StaleVersion, ValidationFailed
from products.models import Stage
from products.services import (
    MigrationPlanInput,
    migration_plan_mark_done,
    product_set_cluster,
    product_transition,
)
from tests.backlog.factories import BacklogItemFactory, make_backlog, titles
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _ranks(unit) -> list[int]:
    return list(
        BacklogItem.objects.filter(unit=unit).order_by("rank").values_list("rank", flat=True)
    )


def _fresh(item) -> BacklogItem:
    return BacklogItem.objects.get(pk=item.pk)


# --- create and update -----------------------------------------------------------------------


def test_create_at_bottom_and_top(owner, product):
    first = backlog_item_create(actor=owner, product=product, title="First")
    second = backlog_item_create(actor=owner, product=product, title="Second")
    top = backlog_item_create(actor=owner, product=product, title="Urgent", position="top")
    assert titles(product.unit) == ["Urgent", "First", "Second"]
    assert top.rank < first.rank < second.rank
    assert {first.unit_id, second.unit_id, top.unit_id} == {product.unit_id}
    assert first.version == 1 and first.status == ItemStatus.PROPOSED


def test_create_refuses_a_bad_position_and_a_bad_status(owner, product):
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_create(actor=owner, product=product, title="x", position="middle")
    assert "position" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_create(actor=owner, product=product, title="x", status="someday")
    assert "status" in exc.value.errors
    assert not BacklogItem.objects.exists()


def test_update_stamps_started_and_finished(owner, product):
    item = backlog_item_create(actor=owner, product=product, title="Fix login")
    assert item.started_at is None and item.finished_at is None
    item = backlog_item_update(actor=owner, item=item, status=ItemStatus.IN_PROGRESS)
    assert item.started_at is not None and item.finished_at is None
    started = item.started_at
    assert item.version == 2
    item = backlog_item_update(actor=owner, item=item, status=ItemStatus.DONE)
    assert item.finished_at is not None and item.started_at == started
    assert item.version == 3
    item = backlog_item_update(actor=owner, item=item, status=ItemStatus.READY)
    assert item.finished_at is None  # reopened
    stored = _fresh(item)
    assert stored.status == ItemStatus.READY and stored.version == 4


def test_stale_version_is_refused_and_nothing_changes(owner, product):
    item = backlog_item_create(actor=owner, product=product, title="Original")
    backlog_item_update(actor=owner, item=item, version=1, title="Renamed once")
    with pytest.raises(StaleVersion) as exc:
        backlog_item_update(actor=owner, item=item, version=1, title="Lost update", estimate=3)
    assert exc.value.rule == "stale_version"
    stored = _fresh(item)
    assert stored.title == "Renamed once" and stored.estimate is None and stored.version == 2


def test_component_outside_the_unit_is_refused_with_the_field_named(owner, product, other_product):
    item = backlog_item_create(actor=owner, product=product, title="Wrong component")
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_update(actor=owner, item=item, product=other_product)
    assert "product" in exc.value.errors
    assert _fresh(item).product_id == product.pk


def test_component_inside_a_cluster_can_change(owner, owner_person, cluster):
    a = ProductFactory(owner=owner_person, cluster=cluster)
    b = ProductFactory(owner=owner_person, cluster=cluster)
    item = backlog_item_create(actor=owner, product=a, title="Shared sign-in")
    item = backlog_item_update(actor=owner, item=item, product=b)
    assert _fresh(item).product_id == b.pk and item.unit_id == cluster.unit.pk


def test_bad_status_and_unknown_field_are_refused(owner, product):
    item = backlog_item_create(actor=owner, product=product, title="Item")
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_update(actor=owner, item=item, status="parked")
    assert "status" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_update(actor=owner, item=item, rank=5)
    assert "rank" in exc.value.errors
    stored = _fresh(item)
    assert stored.status == ItemStatus.PROPOSED and stored.version == 1


# --- moves -----------------------------------------------------------------------------------


@pytest.fixture
def five(product):
    return make_backlog(product, 5, prefix="I")  # I 0 .. I 4


def test_move_before(owner, product, five):
    result = backlog_item_move(actor=owner, item=five[4], before=five[1])
    assert titles(product.unit) == ["I 0", "I 4", "I 1", "I 2", "I 3"]
    assert result.rows_written == 1


def test_move_after(owner, product, five):
    result = backlog_item_move(actor=owner, item=five[0], after=five[3])
    assert titles(product.unit) == ["I 1", "I 2", "I 3", "I 0", "I 4"]
    assert result.rows_written == 1
    result = backlog_item_move(actor=owner, item=five[2], after=five[4])  # to the bottom
    assert titles(product.unit) == ["I 1", "I 3", "I 0", "I 4", "I 2"]
    assert result.rows_written == 1


def test_move_to_position(owner, product, five):
    assert backlog_item_move(actor=owner, item=five[3], position=0).rows_written == 1
    assert titles(product.unit) == ["I 3", "I 0", "I 1", "I 2", "I 4"]
    assert backlog_item_move(actor=owner, item=five[3], position=2).rows_written == 1
    assert titles(product.unit) == ["I 0", "I 1", "I 3", "I 2", "I 4"]
    assert backlog_item_move(actor=owner, item=five[0], position=99).rows_written == 1
    assert titles(product.unit) == ["I 1", "I 3", "I 2", "I 4", "I 0"]


def test_move_only_writes_the_moved_row(owner, product, five):
    before = dict(BacklogItem.objects.values_list("id", "rank"))
    backlog_item_move(actor=owner, item=five[4], before=five[0])
    after = dict(BacklogItem.objects.values_list("id", "rank"))
    assert [pk for pk in before if before[pk] != after[pk]] == [five[4].pk]


def test_move_refuses_bad_requests(owner, product, other_product, five):
    foreign = BacklogItemFactory(product=other_product)
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_move(actor=owner, item=five[0], before=foreign)
    assert "before" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_move(actor=owner, item=five[0], after=five[0])
    assert "after" in exc.value.errors
    with pytest.raises(ValidationFailed):
        backlog_item_move(actor=owner, item=five[0], before=five[1], position=1)
    with pytest.raises(ValidationFailed) as exc:
        backlog_item_move(actor=owner, item=five[0], position=-1)
    assert "position" in exc.value.errors
    assert titles(product.unit) == [f"I {i}" for i in range(5)]


@pytest.fixture
def tight(monkeypatch):
    """Gaps that run out after a move or two, so rebalancing happens all the time."""
    monkeypatch.setattr(ranking, "GAP", 2)
    monkeypatch.setattr(ranking, "MIN_SPACING", 1)


def test_forced_rebalance_keeps_order_and_stays_bounded(monkeypatch, leader, product):
    # Small gaps (four halvings, then a rebalance) but still far more room overall than a
    # rebalance needs, so the window around the hot spot must stay small.
    monkeypatch.setattr(ranking, "GAP", 16)
    monkeypatch.setattr(ranking, "MIN_SPACING", 2)
    items = make_backlog(product, 200, prefix="I")
    assert _ranks(product.unit)[:3] == [16, 32, 48]
    expected = [i.title for i in items]
    spot = 100
    writes = []
    for n in range(60):
        new = backlog_item_create(actor=leader, product=product, title=f"new {n}")
        result = backlog_item_move(actor=leader, item=new, position=spot)
        expected.insert(spot, new.title)
        writes.append(result.rows_written)
        ranks = _ranks(product.unit)
        assert len(ranks) == len(set(ranks))
        assert titles(product.unit) == expected
    total = len(expected)
    rebalances = [w for w in writes if w > 1]
    assert len(rebalances) >= 5, writes
    # A window around the spot, never the backlog; all 60 moves together write far fewer rows
    # than renumbering the backlog on every rebalance would (about 60 x 260).
    assert max(writes) < total // 3, writes
    assert sum(writes) < len(writes) * total // 20, writes


def test_dense_backlog_rebalance_keeps_order_and_unique_ranks(tight, leader, product):
    """With no room anywhere the window grows to the whole backlog; order still holds."""
    items = [
        BacklogItemFactory(product=product, title=f"I {i:03d}", rank=(i + 1) * 2)
        for i in range(100)
    ]
    expected = [i.title for i in items]
    for n in range(30):
        new = backlog_item_create(actor=leader, product=product, title=f"new {n}")
        backlog_item_move(actor=leader, item=new, position=50)
        expected.insert(50, new.title)
        ranks = _ranks(product.unit)
        assert len(ranks) == len(set(ranks))
    assert titles(product.unit) == expected


def test_forced_rebalance_for_moves_before_and_after(tight, leader, product):
    items = make_backlog(product, 60, prefix="I")
    expected = [i.title for i in items]
    anchor = items[30]
    for n, item in enumerate(items[:20]):
        expected.remove(item.title)
        if n % 2:
            backlog_item_move(actor=leader, item=item, before=anchor)
            expected.insert(expected.index(anchor.title), item.title)
        else:
            backlog_item_move(actor=leader, item=item, after=anchor)
            expected.insert(expected.index(anchor.title) + 1, item.title)
        assert titles(product.unit) == expected
    ranks = _ranks(product.unit)
    assert len(ranks) == len(set(ranks)) == 60


# --- membership: join and split out ----------------------------------------------------------


def test_join_appends_the_products_items_in_their_order(leader, owner_person, cluster):
    member = ProductFactory(owner=owner_person, cluster=cluster)
    joining = ProductFactory(owner=owner_person)
    make_backlog(member, 3, prefix="C")
    make_backlog(joining, 3, prefix="P")
    # Reorder both first, so order comes from ranks, not from ids.
    backlog_item_move(actor=leader, item=BacklogItem.objects.get(title="C 2"), position=0)
    backlog_item_move(actor=leader, item=BacklogItem.objects.get(title="P 0"), position=2)
    own_unit = joining.unit

    product_set_cluster(actor=leader, product=joining, cluster=cluster)

    assert titles(cluster.unit) == ["C 2", "C 0", "C 1", "P 1", "P 2", "P 0"]
    assert titles(own_unit) == []
    ranks = _ranks(cluster.unit)
    assert len(set(ranks)) == 6


def test_split_out_takes_the_products_items_in_their_order(leader, owner_person, cluster):
    a = ProductFactory(owner=owner_person, cluster=cluster)
    b = ProductFactory(owner=owner_person, cluster=cluster)
    for title, component in [
        ("a1", a),
        ("b1", b),
        ("a2", a),
        ("b2", b),
        ("a3", a),
        ("b3", b),
    ]:
        BacklogItemFactory(product=component, title=title)
    backlog_item_move(actor=leader, item=BacklogItem.objects.get(title="b3"), position=0)

    product_set_cluster(actor=leader, product=b, cluster=None)

    b.refresh_from_db()
    assert b.unit.kind == "product" and b.unit.is_active
    assert titles(b.unit) == ["b3", "b1", "b2"]
    assert titles(cluster.unit) == ["a1", "a2", "a3"]


def test_moving_between_clusters_carries_items(leader, owner_person, cluster):
    from tests.portfolio.factories import ClusterFactory

    other = ClusterFactory(owner=owner_person)
    travelling = ProductFactory(owner=owner_person, cluster=cluster)
    resident = ProductFactory(owner=owner_person, cluster=other)
    make_backlog(travelling, 2, prefix="T")
    make_backlog(resident, 2, prefix="R")
    product_set_cluster(actor=leader, product=travelling, cluster=other)
    assert titles(other.unit) == ["R 0", "R 1", "T 0", "T 1"]
    assert titles(cluster.unit) == []


# --- retirement ------------------------------------------------------------------------------


def _retire(actor, product, plan: MigrationPlanInput):
    product_transition(actor=actor, product=product, to_stage=Stage.RETIREMENT, migration_plan=plan)
    migration_plan_mark_done(actor=actor, product=product)
    product_transition(actor=actor, product=product, to_stage=Stage.RETIRED)


def _soon() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=60)


def test_retirement_moves_open_items_to_the_target(leader, owner, product, other_product):
    make_backlog(other_product, 2, prefix="Target")
    done = BacklogItemFactory(product=product, title="Shipped", status=ItemStatus.DONE)
    declined = BacklogItemFactory(product=product, title="Dropped", status=ItemStatus.DECLINED)
    make_backlog(product, 3, prefix="Open")
    busy = BacklogItemFactory(product=product, title="Busy", status=ItemStatus.IN_PROGRESS)
    backlog_item_move(actor=owner, item=BacklogItem.objects.get(title="Open 2"), position=0)

    _retire(owner, product, MigrationPlanInput(planned_end_date=_soon(), targets=[other_product]))

    assert titles(other_product.unit) == [
        "Target 0",
        "Target 1",
        "Open 2",
        "Open 0",
        "Open 1",
        "Busy",
    ]
    moved = BacklogItem.objects.filter(title__startswith="Open") | BacklogItem.objects.filter(
        pk=busy.pk
    )
    assert {i.product_id for i in moved} == {other_product.pk}
    assert _fresh(busy).status == ItemStatus.IN_PROGRESS
    assert titles(product.unit) == ["Shipped", "Dropped"]
    assert _fresh(done).status == ItemStatus.DONE and _fresh(declined).product_id == product.pk

    # The retired product's backlog is frozen.
    with pytest.raises(RuleViolation) as exc:
        backlog_item_update(actor=leader, item=done, title="Edited later")
    assert exc.value.rule == "backlog_frozen"
    with pytest.raises(RuleViolation) as exc:
        backlog_item_create(actor=leader, product=product, title="New work")
    assert exc.value.rule == "backlog_frozen"
    assert _fresh(done).title == "Shipped"


def test_retirement_within_a_cluster_keeps_items_in_place(leader, owner_person, cluster):
    old = ProductFactory(owner=owner_person, cluster=cluster)
    new = ProductFactory(owner=owner_person, cluster=cluster)
    BacklogItemFactory(product=new, title="n1")
    BacklogItemFactory(product=old, title="o1")
    BacklogItemFactory(product=new, title="n2")
    _retire(leader, old, MigrationPlanInput(planned_end_date=_soon(), targets=[new]))
    assert titles(cluster.unit) == ["n1", "o1", "n2"]
    assert BacklogItem.objects.get(title="o1").product_id == new.pk


def test_retirement_with_the_capability_dropped_declines_open_items(owner, product):
    BacklogItemFactory(product=product, title="Shipped", status=ItemStatus.DONE)
    make_backlog(product, 2, prefix="Open")
    _retire(
        owner,
        product,
        MigrationPlanInput(
            planned_end_date=_soon(), capability_dropped=True, dropped_reason="Nobody needs it."
        ),
    )
    statuses = dict(BacklogItem.objects.values_list("title", "status"))
    assert statuses == {
        "Shipped": ItemStatus.DONE,
        "Open 0": ItemStatus.DECLINED,
        "Open 1": ItemStatus.DECLINED,
    }
    assert all(
        i.finished_at is not None for i in BacklogItem.objects.filter(title__startswith="Open")
    )
    assert titles(product.unit) == ["Shipped", "Open 0", "Open 1"]
    item = BacklogItem.objects.get(title="Open 0")
    with pytest.raises(RuleViolation) as exc:
        backlog_item_update(actor=owner, item=item, status=ItemStatus.READY)
    assert exc.value.rule == "backlog_frozen"
    assert _fresh(item).status == ItemStatus.DECLINED


def test_frozen_items_cannot_be_moved_or_deleted(leader, product):
    a = BacklogItemFactory(product=product, title="a", status=ItemStatus.DONE)
    b = BacklogItemFactory(product=product, title="b", status=ItemStatus.DONE)
    _retire(
        leader,
        product,
        MigrationPlanInput(planned_end_date=_soon(), capability_dropped=True, dropped_reason="x"),
    )
    with pytest.raises(RuleViolation) as exc:
        backlog_item_move(actor=leader, item=b, position=0)
    assert exc.value.rule == "backlog_frozen"
    with pytest.raises(RuleViolation) as exc:
        backlog_item_delete(actor=leader, item=a)
    assert exc.value.rule == "backlog_frozen"
    assert titles(product.unit) == ["a", "b"]


# --- permissions -----------------------------------------------------------------------------


def test_viewer_and_other_owner_are_forbidden(viewer, other_owner, product):
    item = BacklogItemFactory(product=product, title="Mine")
    second = BacklogItemFactory(product=product, title="Second")
    for actor in (viewer, other_owner):
        with pytest.raises(Forbidden):
            backlog_item_create(actor=actor, product=product, title="Intruder")
        with pytest.raises(Forbidden):
            backlog_item_update(actor=actor, item=item, title="Hijacked")
        with pytest.raises(Forbidden):
            backlog_item_move(actor=actor, item=second, position=0)
        with pytest.raises(Forbidden):
            backlog_items_bulk_update(
                actor=actor, unit=product.unit, items=[item], status=ItemStatus.DONE
            )
        with pytest.raises(Forbidden):
            backlog_item_delete(actor=actor, item=item)
    assert titles(product.unit) == ["Mine", "Second"]
    assert _fresh(item).version == 1


@pytest.mark.parametrize("who", ["owner", "leader"])
def test_owner_and_leader_may_edit(request, who, product):
    actor = request.getfixturevalue(who)
    item = backlog_item_create(actor=actor, product=product, title="Allowed")
    backlog_item_update(actor=actor, item=item, title="Allowed, renamed")
    other = backlog_item_create(actor=actor, product=product, title="Other", position="top")
    backlog_item_move(actor=actor, item=item, position=0)
    backlog_items_bulk_update(
        actor=actor, unit=product.unit, items=[item, other], status=ItemStatus.READY
    )
    assert titles(product.unit) == ["Allowed, renamed", "Other"]
    backlog_item_delete(actor=actor, item=other)
    assert titles(product.unit) == ["Allowed, renamed"]


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_update_changes_all_and_moves_the_selection_to_the_top(owner, product):
    items = make_backlog(product, 5, prefix="I")
    changed = backlog_items_bulk_update(
        actor=owner,
        unit=product.unit,
        items=[items[4], items[2]],
        status=ItemStatus.IN_PROGRESS,
        move_to_top=True,
    )
    assert changed == 2
    assert titles(product.unit) == ["I 2", "I 4", "I 0", "I 1", "I 3"]
    assert all(_fresh(i).started_at is not None for i in (items[2], items[4]))


def test_bulk_update_is_all_or_nothing(owner, leader, product, other_product):
    mine = make_backlog(product, 3, prefix="I")
    foreign = BacklogItemFactory(product=other_product, title="Foreign")
    snapshot = list(BacklogItem.objects.order_by("pk").values())
    for actor in (owner, leader):
        with pytest.raises(ValidationFailed) as exc:
            backlog_items_bulk_update(
                actor=actor,
                unit=product.unit,
                items=[*mine, foreign],
                status=ItemStatus.DONE,
                move_to_top=True,
            )
        assert "items" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        backlog_items_bulk_update(actor=owner, unit=product.unit, items=mine, status="parked")
    assert "status" in exc.value.errors
    assert list(BacklogItem.objects.order_by("pk").values()) == snapshot


def test_bulk_update_rolls_back_when_one_item_fails_midway(leader, owner_person, cluster):
    live = ProductFactory(owner=owner_person, cluster=cluster)
    gone = ProductFactory(owner=owner_person, cluster=cluster)
    first = BacklogItemFactory(product=live, title="live")
    frozen = BacklogItemFactory(product=gone, title="frozen", status=ItemStatus.DONE)
    _retire(
        leader,
        gone,
        MigrationPlanInput(planned_end_date=_soon(), capability_dropped=True, dropped_reason="x"),
    )
    with pytest.raises(RuleViolation):
        backlog_items_bulk_update(
            actor=leader, unit=cluster.unit, items=[first, frozen], status=ItemStatus.READY
        )
    assert _fresh(first).status == ItemStatus.PROPOSED and _fresh(first).version == 1
    assert _fresh(frozen).status == ItemStatus.DONE


def test_move_with_a_copy_from_before_a_cluster_join_orders_the_new_backlog(
    leader, owner_person, cluster
):
    member = ProductFactory(owner=owner_person, cluster=cluster)
    joining = ProductFactory(owner=owner_person)
    make_backlog(member, 3, prefix="C")
    held = make_backlog(joining, 2, prefix="P")  # copies that still name the old unit
    product_set_cluster(actor=leader, product=joining, cluster=cluster)

    backlog_item_move(actor=leader, item=held[1], position=1)

    assert titles(cluster.unit) == ["C 0", "P 1", "C 1", "C 2", "P 0"]
    ranks = _ranks(cluster.unit)
    assert len(ranks) == len(set(ranks))
