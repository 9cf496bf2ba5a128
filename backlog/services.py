"""Writes on backlogs: items, their order, bulk changes, and what membership and lifecycle
changes do to them. Every function owns its transaction and takes the backlog's lock before
it touches ranks, so parallel moves queue up and none is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backlog import ranking
from backlog.models import (
    COMMENT_MAX_LENGTH,
    OPEN_STATUSES,
    BacklogItem,
    BacklogItemComment,
    ItemStatus,
)
from portfolio import events
from portfolio.errors import (
    Forbidden,
    NotFound,
    RuleViolation,
    StaleVersion,
    ValidationFailed,
)
from portfolio.permissions import (
    LEADERS_GROUP,
    AnyUser,
    is_leader,
    known_leader,
    remember_leader,
)
from portfolio.validation import MAX_INT, full_clean_or_fail
from portfolio.versioning import check_version
from products.models import LifecycleTransition, OwnershipUnit, Product, Stage
from products.permissions import require_unit_editor

EDITABLE_FIELDS = {
    "title",
    "description",
    "type",
    "dimension",
    "status",
    "estimate",
    "source",
    "product",
}


def _check_component(unit: OwnershipUnit, product: Product, field: str = "product") -> None:
    if product.unit_id != unit.pk:
        raise ValidationFailed(
            {field: [f"{product.name} is not part of the backlog of {unit.name}."]}
        )
    if product.lifecycle_stage == Stage.RETIRED:
        raise RuleViolation(
            f"{product.name} is retired; its backlog is frozen.",
            field=field,
            rule="backlog_frozen",
        )


def _refuse_frozen(item: BacklogItem) -> None:
    if item.product.lifecycle_stage == Stage.RETIRED:
        raise RuleViolation(
            f"{item.product.name} is retired; its backlog is frozen.",
            field="product",
            rule="backlog_frozen",
        )


def _stamp_status(item: BacklogItem, old_status: str | None) -> None:
    now = timezone.now()
    if item.status == ItemStatus.IN_PROGRESS and item.started_at is None:
        item.started_at = now
    if item.status in (ItemStatus.DONE, ItemStatus.DECLINED):
        if item.finished_at is None or old_status != item.status:
            item.finished_at = now
    else:
        item.finished_at = None


@transaction.atomic
def backlog_item_create(
    *,
    actor: AnyUser,
    product: Product,
    title: str,
    position: str = "bottom",
    **fields: Any,
) -> BacklogItem:
    """Add an item to the backlog of the unit `product` is run in (top or bottom)."""
    for _attempt in range(3):
        product = Product.objects.select_related("unit__owner").get(pk=product.pk)
        unit = product.unit
        assert unit is not None  # a product's unit is NULL only inside product_create
        require_unit_editor(actor, unit, f"add to the backlog of {unit.name}")
        _check_component(unit, product)
        if position not in ("top", "bottom"):
            raise ValidationFailed({"position": ["Choose 'top' or 'bottom'."]})
        ranking.lock_backlog(unit.pk)
        # A cluster move may have committed while we waited for the lock: follow the product.
        if Product.objects.filter(pk=product.pk, unit_id=unit.pk).exists():
            break
    else:
        raise StaleVersion(
            f"{product.name} keeps moving between backlogs; try again.",
            field="product",
            rule="stale_version",
        )
    item = BacklogItem(unit=unit, product=product, title=title, rank=0, **fields)
    _stamp_status(item, None)
    full_clean_or_fail(item, exclude=["rank"])
    if position == "top":
        item.rank = ranking.place_at(unit.pk, 0, item_id=None).rank
    else:
        item.rank = ranking.place_bottom(unit.pk, item_id=None).rank
    item.save()
    events.record("backlog_item.created", item, actor=actor)
    return item


@transaction.atomic
def backlog_item_update(
    *, actor: AnyUser, item: BacklogItem, version: int | None = None, **changes: Any
) -> BacklogItem:
    """Change an item. With `version`, refuse if someone changed it since that version."""
    current = (
        BacklogItem.objects.select_for_update(of=("self",))
        .select_related("unit__owner", "product")
        .get(pk=item.pk)
    )
    require_unit_editor(actor, current.unit, f"edit the backlog of {current.unit.name}")
    if version is not None and version != current.version:
        raise StaleVersion(
            f"'{current.title}' was changed by someone else (now version {current.version}, "
            f"you edited version {version}).",
            field="version",
            rule="stale_version",
        )
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed({f: ["This field cannot be changed here."] for f in sorted(unknown)})
    if current.product.lifecycle_stage == Stage.RETIRED:
        raise RuleViolation(
            f"{current.product.name} is retired; its backlog is frozen.",
            field="product",
            rule="backlog_frozen",
        )
    if "product" in changes and changes["product"].pk != current.product_id:
        _check_component(current.unit, changes["product"])
    old_status = current.status
    before = events.values_of(current)
    for name, value in changes.items():
        setattr(current, name, value)
    _stamp_status(current, old_status)
    full_clean_or_fail(current)
    current.version += 1
    current.save()
    changed = events.diff(before, events.values_of(current))
    if changed:
        events.record("backlog_item.updated", current, actor=actor, changed=changed)
    return current


@transaction.atomic
def backlog_item_delete(*, actor: AnyUser, item: BacklogItem, version: int | None = None) -> None:
    """Remove an item. With `version`, refuse if someone changed it since that version."""
    item = (
        BacklogItem.objects.select_for_update(of=("self",))
        .select_related("unit__owner", "product")
        .get(pk=item.pk)
    )
    require_unit_editor(actor, item.unit, f"edit the backlog of {item.unit.name}")
    check_version(item, version, name=f"'{item.title}'")
    _refuse_frozen(item)
    events.record("backlog_item.deleted", item, actor=actor, data=None)
    item.delete()


@transaction.atomic
def backlog_item_comment_add(*, actor: AnyUser, item: BacklogItem, body: str) -> BacklogItemComment:
    """Comment on an item: the unit's owner or a leader. Blank comments are refused."""
    item = BacklogItem.objects.select_related("unit__owner").get(pk=item.pk)
    author = require_unit_editor(actor, item.unit, f"comment on the backlog of {item.unit.name}")
    comment = BacklogItemComment(item=item, author=author, body=(body or "").strip())
    if not comment.body:
        raise ValidationFailed({"body": ["Write something to comment."]})
    if len(comment.body) > COMMENT_MAX_LENGTH:
        raise ValidationFailed(
            {"body": [f"Ensure this field has at most {COMMENT_MAX_LENGTH} characters."]}
        )
    full_clean_or_fail(comment)
    comment.save()
    events.record(
        "backlog_item.commented", item, actor=actor, changed={"comment": [None, comment.pk]}
    )
    return comment


@transaction.atomic
def backlog_item_comment_delete(*, actor: AnyUser, comment: BacklogItemComment) -> None:
    """Remove a comment: its author (while still allowed to comment) or a leader."""
    comment = (
        BacklogItemComment.objects.select_for_update(of=("self",))
        .select_related("item__unit__owner")
        .get(pk=comment.pk)
    )
    item = comment.item
    if not is_leader(actor):
        require_unit_editor(actor, item.unit, f"comment on the backlog of {item.unit.name}")
        if comment.author_id != actor.pk:
            raise Forbidden(
                "Only its author or a portfolio leader can remove a comment.",
                rule="comment_author_or_leader",
            )
    pk = comment.pk
    comment.delete()
    events.record(
        "backlog_item.comment_deleted", item, actor=actor, changed={"comment": [pk, None]}
    )


@dataclass
class MoveResult:
    item: BacklogItem
    rows_written: int
    # The item's row as the API shows it (backlog.api.serializers.BACKLOG_ITEM.columns), read
    # by the move's own statement: the answer needs no further query.
    row: dict[str, Any]
    # The body its event recorded (the resource's API body, made from `row`); None when the
    # item stayed where it was and no event was recorded.
    body: Any = None


# The largest position a move names (an int column's range); any number past the end of the
# backlog already means "last", so larger ones are refused rather than carried around.
MAX_POSITION = MAX_INT


def _move_kind(
    before: BacklogItem | None, after: BacklogItem | None, position: int | None
) -> tuple[str, int | None, int]:
    """(kind of move, anchor id, position) from the arguments; refuses bad ones."""
    given = [x is not None for x in (before, after, position)]
    if sum(given) != 1:
        raise ValidationFailed(
            {"non_field_errors": ["Give exactly one of before, after, position."]}
        )
    if before is not None:
        return "before", before.pk, 0
    if after is not None:
        return "after", after.pk, 0
    assert position is not None  # exactly one of before, after, position is given
    if position < 0:
        raise ValidationFailed({"position": ["A position counts from 0 (the top)."]})
    if position > MAX_POSITION:
        raise ValidationFailed(
            {"position": [f"Ensure this value is less than or equal to {MAX_POSITION}."]}
        )
    if position == 0:
        return "top", None, position
    if position == MAX_POSITION:  # past the end of any backlog (the pages' "bottom"): one probe
        return "bottom", None, position
    return "position", None, position


def _refuse_move(
    row: dict[str, Any], *, kind: str, unit_id: int | None, anchor_id: int | None
) -> None:
    """Say why the move statement wrote nothing (it checks; this names the reason)."""
    if unit_id is None or row["item_unit"] != unit_id:
        # Carried to another backlog while we waited for the lock.
        raise StaleVersion(
            f"'{row['item_title']}' moved to another backlog; reload and try again.",
            field="unit",
            rule="stale_version",
        )
    if not row["allowed"]:
        raise Forbidden(
            f"Only the owner of {row['backlog_name']} or a portfolio leader can reorder the "
            f"backlog of {row['backlog_name']}.",
            rule="unit_owner_or_leader",
        )
    if row["frozen"]:
        raise RuleViolation(
            f"{row['product_name']} is retired; its backlog is frozen.",
            field="product",
            rule="backlog_frozen",
        )
    if anchor_id is not None:
        if row["anchor_id"] is None:
            raise ValidationFailed({kind: [f"No backlog item with id {anchor_id}."]})
        if row["anchor_unit"] != row["item_unit"]:
            raise ValidationFailed({kind: ["That item is not in the same backlog."]})
        raise ValidationFailed({kind: ["An item cannot move relative to itself."]})
    raise AssertionError("the move statement refused a move without a reason")  # pragma: no cover


@transaction.atomic
def backlog_item_move(
    *,
    actor: AnyUser,
    item: BacklogItem,
    before: BacklogItem | None = None,
    after: BacklogItem | None = None,
    position: int | None = None,
) -> MoveResult:
    """Move an item above `before`, below `after`, or to `position` (0 = top) of its backlog.

    One round trip locks the backlog and moves (two statements in one message, see
    ranking.move_sql): the second reads the item, its anchor and the neighbouring ranks
    (index probes), checks the move and the actor, writes the item's new rank and answers its
    row; then the event's INSERT. `position` counts every item of the backlog, closed
    ones too, as the backlog's order does (an index-only scan to it: see ranking.move_sql).
    Only the rare move that finds no integer left between two ranks costs more: a bounded
    window of neighbours is spread out (backlog.ranking) and the item written after it.
    """
    kind, anchor_id, index = _move_kind(before, after, position)
    leader = known_leader(actor)
    args: dict[str, Any] = {
        "item_id": item.pk,
        "actor_id": actor.pk if actor.is_authenticated else None,
        "leader": leader,
        "leaders_group": LEADERS_GROUP,
        "anchor_id": anchor_id,
        "position": index,
    }
    row = ranking.move(kind=kind, now=timezone.now(), **args)
    if row is None:  # no such item (or removed while we waited for the lock)
        raise NotFound(f"No backlog item with id {item.pk}.")
    unit_id = row["locked_unit"]
    if leader is None and row["leader"] is not None:
        remember_leader(actor, row["leader"])
    if not row["ok"]:
        _refuse_move(row, kind=kind, unit_id=unit_id, anchor_id=anchor_id)
    rows_written = 1
    if row["new_rank"] is None:  # no integer left between the neighbours: make room
        placement = _make_room(kind, unit_id, row, index=index, item_id=item.pk)
        rows_written = placement.rows_written
        row = ranking.move(
            kind="rank", unit_id=unit_id, rank=placement.rank, now=timezone.now(), **args
        )
        assert row is not None and row["ok"]  # under the lock, nothing changed meanwhile
    old_rank, new_rank = row["old_rank"], row["rank"]
    item.rank = new_rank
    item.unit_id = unit_id
    body = None
    if old_rank != new_rank:
        # Neighbours renumbered to make room keep their order: no event of their own. A move
        # that is its own transaction commits right after this INSERT, so its event takes its
        # feed position as it is written instead of at the commit (portfolio.events).
        body = events.representation_of_row("backlog_item", row)
        events.record(
            "backlog_item.moved",
            item.pk,
            actor=actor,
            changed={"rank": [old_rank, new_rank]},
            data=body,
            place_now=events.commits_next(),
        )
    return MoveResult(item, rows_written, row, body)


def _make_room(
    kind: str, unit_id: int, row: dict[str, Any], *, index: int, item_id: int
) -> ranking.Placement:
    """The rare move with no room between its neighbours: spread out a window around it."""
    if kind in ("before", "after"):
        anchor_rank = BacklogItem.objects.values_list("rank", flat=True).get(pk=row["anchor_id"])
        place = ranking.place_before if kind == "before" else ranking.place_after
        return place(unit_id, anchor_rank, item_id=item_id)
    return ranking.place_at(unit_id, index, item_id=item_id)


@transaction.atomic
def backlog_items_bulk_update(
    *,
    actor: AnyUser,
    unit: OwnershipUnit,
    items: list[BacklogItem],
    status: str | None = None,
    product: Product | None = None,
    move_to_top: bool = False,
) -> int:
    """Apply one change to a selection of a unit's items; all of them or none."""
    unit = OwnershipUnit.objects.select_related("owner").get(pk=unit.pk)
    require_unit_editor(actor, unit, f"edit the backlog of {unit.name}")
    ids = [i.pk for i in items]
    selected = list(BacklogItem.objects.filter(pk__in=ids).select_related("product"))
    if len(selected) != len(set(ids)) or any(i.unit_id != unit.pk for i in selected):
        raise ValidationFailed({"items": ["Every selected item must be in this backlog."]})
    if status is not None and status not in ItemStatus.values:
        raise ValidationFailed({"status": [f"'{status}' is not a status."]})
    if product is not None:
        _check_component(unit, product)
    for item in selected:
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
        if product is not None:
            changes["product"] = product
        if changes:
            backlog_item_update(actor=actor, item=item, **changes)
    if move_to_top:
        # Keep the selection's own order: place them from the last one up.
        ordered = sorted(selected, key=lambda i: i.rank)
        for item in reversed(ordered):
            backlog_item_move(actor=actor, item=item, position=0)
    return len(selected)


# --- What membership and lifecycle changes do to backlog items --------------------------------


def _append_in_order(items: list[BacklogItem], unit: OwnershipUnit) -> None:
    """Move `items` (in their current order) to the bottom of `unit`'s backlog."""
    if not items:
        return
    ranking.lock_backlog(unit.pk)
    top = BacklogItem.objects.filter(unit=unit).aggregate(m=Max("rank"))["m"]
    start = (top if top is not None else 0) + ranking.GAP
    for offset, item in enumerate(items):
        item.unit = unit
        item.rank = start + offset * ranking.GAP
    BacklogItem.objects.bulk_update(items, ["unit", "rank"], batch_size=1000)


def carry_items_on_unit_change(
    *, product: Product, old_unit: OwnershipUnit, new_unit: OwnershipUnit, actor: AnyUser
) -> None:
    """A product joining a cluster takes its items along; so does one splitting out.

    They land at the bottom of the receiving backlog, in the order they had; the backlog they
    leave keeps its own order (removing rows reorders nothing).
    """
    ranking.lock_backlog(old_unit.pk)
    moving = list(BacklogItem.objects.filter(unit=old_unit, product=product).order_by("rank"))
    _append_in_order(moving, new_unit)
    events.record_many(
        "backlog_item.updated",
        [item.pk for item in moving],
        actor=actor,
        changed=[{"unit": [old_unit.pk, new_unit.pk]}] * len(moving),
    )


def freeze_backlog_on_retirement(
    *, product: Product, transition: LifecycleTransition, actor: AnyUser
) -> None:
    """Retired: open items move to the migration target's backlog, or are declined."""
    if transition.to_stage != Stage.RETIRED:
        return
    open_items = list(
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES).order_by("rank")
    )
    if not open_items:
        return
    plan = getattr(product, "migration_plan", None)
    target = plan.targets.order_by("name").first() if plan is not None else None
    if target is not None and target.lifecycle_stage != Stage.RETIRED:
        for item in open_items:
            item.product = target
            item.version += 1
        BacklogItem.objects.bulk_update(open_items, ["product", "version"])
        if target.unit_id != product.unit_id:
            _append_in_order(open_items, target.unit)
        changes = [{"product": [product.pk, target.pk]}] * len(open_items)
    else:
        now = timezone.now()
        changes = [{"status": [item.status, ItemStatus.DECLINED]} for item in open_items]
        for item in open_items:
            item.status = ItemStatus.DECLINED
            item.finished_at = now
            item.version += 1
        BacklogItem.objects.bulk_update(open_items, ["status", "finished_at", "version"])
    events.record_many(
        "backlog_item.updated", [item.pk for item in open_items], actor=actor, changed=changes
    )
