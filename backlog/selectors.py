"""Reads shared by the backlog pages and API: one item with its history and comments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from backlog.models import BacklogItem, BacklogItemComment
from portfolio.models import Event
from portfolio.permissions import AnyUser

HISTORY_LIMIT = 50

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
