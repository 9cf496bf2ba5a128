"""Reads of backlogs shared by pages and the API: the tops of several backlogs at once, and
one item with its history and comments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from backlog.models import OPEN_STATUSES, BacklogItem, BacklogItemComment
from portfolio.models import Event
from portfolio.permissions import AnyUser
from products.models import OwnershipUnit, Product

HISTORY_LIMIT = 50
# How many of a unit's components a backlog page's selects offer; the lookup finds the rest.
COMPONENT_OPTIONS = 50

CREATED = "Created"
# How an event of the item reads on its page.
_VERBS = {
    "backlog_item.created": CREATED,
    "backlog_item.updated": "Changed",
    "backlog_item.moved": "Moved in the backlog",
    "backlog_item.commented": "Commented",
    "backlog_item.comment_deleted": "Removed a comment",
}
# Fields whose stored values are ids: the page says they changed, not to what.
_RELATIONS = {"product": "component", "unit": "backlog (owner or cluster)"}


@dataclass
class ItemHistoryEntry:
    when: Any
    who: str
    what: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


def backlog_items_for_page(user: AnyUser) -> QuerySet[BacklogItem]:
    """The items `user` may open, with what their page header shows."""
    return BacklogItem.objects.visible_to(user).select_related(
        "product", "unit__owner__user", "unit__cluster", "unit__product"
    )


def backlog_item_comments(item: BacklogItem) -> QuerySet[BacklogItemComment]:
    """The item's comments, oldest first, with their authors (one query)."""
    return (
        BacklogItemComment.objects.filter(item=item)
        .select_related("author")
        .order_by("created_at", "id")
    )


def _display(name: str, value: Any) -> Any:
    if value in (None, ""):
        return None
    try:
        model_field = BacklogItem._meta.get_field(name)
    except LookupError:
        return value
    choices = getattr(model_field, "flatchoices", None)
    if getattr(model_field, "choices", None) and choices:
        return dict(choices).get(value, value)
    return value


def backlog_item_history(
    item: BacklogItem, *, limit: int = HISTORY_LIMIT
) -> list[ItemHistoryEntry]:
    """The item's recorded events (changes, moves, comments), newest first, in one query.

    Events are kept for EVENT_RETENTION_DAYS, so an old item's history starts where the
    retention window does.
    """
    events = (
        Event.objects.filter(object_type="backlog_item", object_id=item.pk)
        .order_by("-at", "-id")
        .only("type", "at", "actor_name", "job", "changed")[:limit]
    )
    entries = []
    for event in events:
        entry = ItemHistoryEntry(
            when=event.at,
            who=event.actor_name or event.job or "System",
            what=_VERBS.get(event.type, event.type),
        )
        if event.type == "backlog_item.updated":
            for name, values in (event.changed or {}).items():
                if name in _RELATIONS or not isinstance(values, list):
                    entry.changes.append((_RELATIONS.get(name, name), None, None))
                else:
                    old, new = values
                    label = BacklogItem._meta.get_field(name).verbose_name  # type: ignore[union-attr]
                    entry.changes.append((str(label), _display(name, old), _display(name, new)))
        entries.append(entry)
    return entries


def top_open_items(unit_ids: Iterable[int], *, n: int = 5) -> dict[int, list[BacklogItem]]:
    """The first `n` open items (by rank) of each unit's backlog: one query for all units."""
    ids = list(unit_ids)
    if not ids:
        return {}
    ranked = (
        BacklogItem.objects.open()
        .filter(unit_id__in=ids)
        .select_related("product")
        .annotate(row=Window(RowNumber(), partition_by=[F("unit_id")], order_by=F("rank").asc()))
        .filter(row__lte=n)
        .order_by("unit_id", "rank")
    )
    out: dict[int, list[BacklogItem]] = defaultdict(list)
    for item in ranked:
        out[item.unit_id].append(item)
    return dict(out)


def open_item_counts(unit_ids: Iterable[int]) -> dict[int, int]:
    """How many open items each unit's backlog holds (one grouped query)."""
    ids = list(unit_ids)
    if not ids:
        return {}
    rows = (
        BacklogItem.objects.filter(unit_id__in=ids)
        .values("unit_id")
        .annotate(n=Count("id", filter=Q(status__in=OPEN_STATUSES)))
        .order_by()
    )
    return {row["unit_id"]: row["n"] for row in rows}


@dataclass
class Components:
    """The first of a unit's components by name (matching a text, if one was typed), and how
    many there are in all."""

    first: list[Product]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.first)


def unit_components(
    unit: OwnershipUnit, *, text: str = "", limit: int = COMPONENT_OPTIONS
) -> Components:
    """One query however large the cluster: the page renders `limit` options, never all 700
    of a big cluster's products; the total is counted beside them (a window over the unit's
    products, read from the (unit_id) index)."""
    products = Product.objects.filter(unit=unit)
    if text := text.strip():
        products = products.filter(name__icontains=text)
    rows = list(
        products.annotate(total=Window(Count("pk")))
        .only("name", "lifecycle_stage", "unit")
        .order_by("name", "pk")[:limit]
    )
    return Components(first=cast(list[Product], rows), total=rows[0].total if rows else 0)


def unit_component(unit: OwnershipUnit, pk: int) -> Product | None:
    """The unit's product with this id, or None (an id from another unit, or none at all)."""
    return Product.objects.filter(unit=unit, pk=pk).only("name", "lifecycle_stage", "unit").first()
