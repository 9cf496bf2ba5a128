"""The API body of a backlog item for its events (portfolio/events.py), registered in
BacklogConfig.ready(): the body GET /api/v1/backlog-items/<id>/ answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone

from backlog.api.serializers import BACKLOG_ITEM, backlog_item_rows
from backlog.models import BacklogItem
from portfolio import events


def backlog_items(ids: Sequence[int]) -> dict[int, Any]:
    rows = backlog_item_rows(BacklogItem.objects.filter(pk__in=ids))
    now = timezone.now()
    return {row["id"]: BACKLOG_ITEM.one(row, now=now) for row in rows}


def backlog_item_of_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The body of one item from a row with `BACKLOG_ITEM.columns` (a move's own statement
    returns one)."""
    return BACKLOG_ITEM.one(row, now=timezone.now())


def register() -> None:
    events.register_representation("backlog_item", backlog_items, of_row=backlog_item_of_row)
