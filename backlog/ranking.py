"""Ordering a backlog with gapped integer ranks.

A move gives the item a rank between its new neighbours' ranks: one row written. When two
neighbours have no integer left between them, only a window of items around the spot is
spread out again, growing the window until it has room; the whole backlog is renumbered only
if the window grows to cover it. Callers hold the backlog's lock (see `lock_backlog`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

GAP = 1 << 20  # spacing of new ranks: about twenty moves into one spot before a rebalance
MIN_SPACING = 1 << 10  # a rebalanced window leaves at least this much between ranks
FIRST_WINDOW = 8  # items on each side of the spot in the first rebalance window

TABLE = "backlog_backlogitem"


@dataclass
class Placement:
    rank: int
    rebalanced: dict[int, int]  # item id -> new rank, for the neighbours a rebalance moved

    @property
    def rows_written(self) -> int:
        return 1 + len(self.rebalanced)


def lock_backlog(unit_id: int) -> None:
    """Serialise every reorder of one backlog: moves queue up instead of racing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM products_ownershipunit WHERE id = %s FOR UPDATE", [unit_id])


def _ranks(unit_id: int, exclude_id: int | None, offset: int, limit: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, rank FROM {TABLE} WHERE unit_id = %s AND id <> %s "
            "ORDER BY rank OFFSET %s LIMIT %s",
            [unit_id, exclude_id or 0, offset, limit],
        )
        return cursor.fetchall()


def _count(unit_id: int, exclude_id: int | None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {TABLE} WHERE unit_id = %s AND id <> %s",
            [unit_id, exclude_id or 0],
        )
        return cursor.fetchone()[0]


def index_of(unit_id: int, rank: int, exclude_id: int | None) -> int:
    """How many items (other than `exclude_id`) come before `rank`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {TABLE} WHERE unit_id = %s AND id <> %s AND rank < %s",
            [unit_id, exclude_id or 0, rank],
        )
        return cursor.fetchone()[0]


def between(lo: int | None, hi: int | None) -> int | None:
    """A rank strictly between lo and hi (None: open-ended), or None if there is no room."""
    if lo is None:
        return 0 if hi is None else hi - GAP
    if hi is None:
        return lo + GAP
    if hi - lo > 1:
        return (lo + hi) // 2
    return None


def _neighbour(unit_id: int, rank: int, exclude_id: int | None, *, below: bool) -> int | None:
    """The nearest rank below (or above) `rank`: one index probe, no scan of the backlog."""
    op, order = ("<", "DESC") if below else (">", "ASC")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rank FROM {TABLE} WHERE unit_id = %s AND id <> %s AND rank {op} %s "
            f"ORDER BY rank {order} LIMIT 1",
            [unit_id, exclude_id or 0, rank],
        )
        row = cursor.fetchone()
        return row[0] if row else None


def place_before(unit_id: int, anchor_rank: int, *, item_id: int | None) -> Placement:
    """The rank that puts the item just above the item ranked `anchor_rank`."""
    rank = between(_neighbour(unit_id, anchor_rank, item_id, below=True), anchor_rank)
    if rank is not None:
        return Placement(rank, {})
    index = index_of(unit_id, anchor_rank, item_id)
    return _rebalance(unit_id, index, item_id=item_id, total=_count(unit_id, item_id))


def place_after(unit_id: int, anchor_rank: int, *, item_id: int | None) -> Placement:
    """The rank that puts the item just below the item ranked `anchor_rank`."""
    rank = between(anchor_rank, _neighbour(unit_id, anchor_rank, item_id, below=False))
    if rank is not None:
        return Placement(rank, {})
    index = index_of(unit_id, anchor_rank, item_id) + 1
    return _rebalance(unit_id, index, item_id=item_id, total=_count(unit_id, item_id))


def place_at(unit_id: int, index: int, *, item_id: int | None) -> Placement:
    """The rank that puts item `item_id` (None: a new item) at `index` among the others.

    `index` counts the other items of the backlog: 0 is the top; past the end is the bottom.
    """
    index = max(index, 0)
    neighbours = _ranks(unit_id, item_id, max(index - 1, 0), 2 if index else 1)
    if index == 0:
        lo, hi = None, (neighbours[0][1] if neighbours else None)
    elif not neighbours:  # past the end: the bottom
        lo, hi = _last_rank(unit_id, item_id), None
    else:
        lo, hi = neighbours[0][1], (neighbours[1][1] if len(neighbours) > 1 else None)
    rank = between(lo, hi)
    if rank is not None:
        return Placement(rank, {})
    total = _count(unit_id, item_id)
    return _rebalance(unit_id, min(index, total), item_id=item_id, total=total)


def place_bottom(unit_id: int, *, item_id: int | None) -> Placement:
    """Below the last item: always room (ranks are open-ended), one index probe."""
    rank = between(_last_rank(unit_id, item_id), None)
    assert rank is not None  # open-ended above: there is always room
    return Placement(rank, {})


def _last_rank(unit_id: int, exclude_id: int | None) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rank FROM {TABLE} WHERE unit_id = %s AND id <> %s ORDER BY rank DESC LIMIT 1",
            [unit_id, exclude_id or 0],
        )
        row = cursor.fetchone()
        return row[0] if row else None


def _rebalance(unit_id: int, index: int, *, item_id: int | None, total: int) -> Placement:
    """Spread out the smallest window around `index` that has room, and place the item in it."""
    k = FIRST_WINDOW
    while True:
        start = max(index - k, 0)
        end = min(index + k, total)  # window holds the others at positions start .. end-1
        # One extra row on each side: the bounds the window must stay between.
        rows = _ranks(unit_id, item_id, max(start - 1, 0), end - start + 2)
        window_first = 1 if start > 0 else 0
        window = rows[window_first : window_first + (end - start)]
        lo = rows[0][1] if start > 0 else None
        after = rows[window_first + (end - start) :]
        hi = after[0][1] if end < total and after else None
        slots = len(window) + 1  # the window's items plus the placed one
        if lo is None:
            lo = (window[0][1] if window else hi or 0) - GAP * (slots + 1)
        if hi is None:
            hi = (window[-1][1] if window else lo) + GAP * (slots + 1)
        if hi - lo >= (slots + 1) * MIN_SPACING or (start == 0 and end == total):
            step = (hi - lo) // (slots + 1)
            new = [lo + step * (i + 1) for i in range(slots)]
            spot = index - start
            placed = new[spot]
            others = new[:spot] + new[spot + 1 :]
            moved = {row[0]: r for row, r in zip(window, others, strict=True) if row[1] != r}
            _write_ranks(moved)
            return Placement(placed, moved)
        k *= 2


def _write_ranks(ranks: dict[int, int]) -> None:
    if not ranks:
        return
    with connection.cursor() as cursor:
        values = ", ".join(["(%s, %s)"] * len(ranks))
        params = [v for pair in ranks.items() for v in pair]
        cursor.execute(
            f"UPDATE {TABLE} AS t SET rank = v.rank::bigint FROM (VALUES {values}) "
            "AS v(id, rank) WHERE t.id = v.id::bigint",
            params,
        )
