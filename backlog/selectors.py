"""Reads of backlogs shared by pages that show several of them at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from backlog.models import OPEN_STATUSES, BacklogItem


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
