"""Ordering a backlog with gapped integer ranks.

A move gives the item a rank between its new neighbours' ranks: one row written. When two
neighbours have no integer left between them, only a window of items around the spot is
spread out again, growing the window until it has room; the whole backlog is renumbered only
if the window grows to cover it. Callers hold the backlog's lock (see `lock_backlog`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

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


# --- A move in two statements: the lock, then one statement that reads, checks and writes --


# The backlog's lock for a move: the unit row the item is in now, locked, and its id kept for
# the rest of the transaction (a transaction-local setting) for the statement that follows.
_LOCK_SQL = f"""
SELECT set_config('portfolio.backlog_locked', COALESCE((
    SELECT u.id::text FROM products_ownershipunit u
    WHERE u.id = (SELECT unit_id FROM {TABLE} WHERE id = %(item)s) FOR UPDATE
), ''), true)
"""
_LOCKED_UNIT = "NULLIF(current_setting('portfolio.backlog_locked'), '')::bigint"


# Where the item goes, per kind of move: the SQL of `lo` and `hi`, the ranks it must fall
# strictly between (NULL: open-ended). The moved item's own rank (`me.rank`) is left out of
# every probe by rank, not by id: ranks are unique in a backlog, and the rank alone is in the
# (unit_id, rank) index, so each probe reads the index only.
_BELOW = (
    f"(SELECT b.rank FROM {TABLE} b WHERE b.unit_id = {{unit}} AND b.rank < {{x}} "
    "AND b.rank <> me.rank ORDER BY b.rank DESC LIMIT 1)"
)
_ABOVE = (
    f"(SELECT b.rank FROM {TABLE} b WHERE b.unit_id = {{unit}} AND b.rank > {{x}} "
    "AND b.rank <> me.rank ORDER BY b.rank LIMIT 1)"
)
_LAST_OTHER = (
    f"(SELECT b.rank FROM {TABLE} b WHERE b.unit_id = {{unit}} AND b.rank <> me.rank "
    "ORDER BY b.rank DESC LIMIT 1)"
)
# `position` p: the ranks at p-1, p and p+1 of the whole backlog (an index-only OFFSET scan of
# (unit_id, rank), the one cost that grows with p), from which the others' p-1 and p follow:
# if the item is above the window the others are shifted by one, else drop it from the window.
_WINDOW = (
    f"ARRAY(SELECT b.rank FROM {TABLE} b WHERE b.unit_id = {{unit}} "
    "ORDER BY b.rank OFFSET %(offset)s LIMIT 3)"
)
_BOUNDS = {
    "before": (_BELOW.format(x="anchor.rank", unit="{unit}"), "anchor.rank"),
    "after": ("anchor.rank", _ABOVE.format(x="anchor.rank", unit="{unit}")),
    "top": ("NULL::bigint", "(array_remove(w.r, me.rank))[1]"),
    "bottom": (_LAST_OTHER, "NULL::bigint"),
    "position": (
        "COALESCE(CASE WHEN me.rank < w.r[1] THEN w.r[2] ELSE (array_remove(w.r, me.rank))[1] "
        f"END, {_LAST_OTHER})",
        "CASE WHEN me.rank < w.r[1] THEN w.r[3] ELSE (array_remove(w.r, me.rank))[2] END",
    ),
    "rank": ("NULL::bigint", "NULL::bigint"),
}

# One statement: read the item, its anchor and the ranks around the spot (index probes), check
# the move (same backlog, not frozen, anchor valid, actor allowed), compute the new rank, write
# it (UPDATE ... RETURNING) and answer the item's row as the API shows it. `rank` is NULL when
# the neighbours have no integer left between them: nothing is written and the caller
# rebalances (see `move`).
_MOVE_SQL = """
WITH me AS (
    SELECT i.id, i.unit_id, i.rank, i.title, p.name AS product_name,
           p.lifecycle_stage = 'retired' AS frozen
    FROM {table} i JOIN products_product p ON p.id = i.product_id
    WHERE i.id = %(item)s
),
unit AS (
    SELECT COALESCE(c.name, up.name) AS name, o.user_id AS owner_user,
           COALESCE(%(leader)s::boolean, EXISTS (
               SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
               WHERE ug.user_id = %(actor)s AND g.name = %(leaders_group)s
           )) AS leader
    FROM products_ownershipunit u
    LEFT JOIN products_cluster c ON c.id = u.cluster_id
    LEFT JOIN products_product up ON up.id = u.product_id
    LEFT JOIN products_person o ON o.id = u.owner_id
    WHERE u.id = {unit}
),
-- MATERIALIZED: each is read once, though referenced more than once below (inlined, the
-- window's scan and the neighbour probes would run once per reference).
w AS MATERIALIZED (SELECT {window} AS r),
calc AS MATERIALIZED (
    SELECT me.id, me.unit_id, me.rank AS old_rank, me.title, me.product_name, me.frozen,
           unit.name AS unit_name, unit.leader,
           COALESCE(unit.leader OR unit.owner_user = %(actor)s, false) AS allowed,
           anchor.id AS anchor_id, anchor.unit_id AS anchor_unit,
           {lo} AS lo, {hi} AS hi
    FROM me
    LEFT JOIN unit ON true
    LEFT JOIN {table} anchor ON anchor.id = %(anchor)s
    CROSS JOIN w
),
placed AS (
    SELECT calc.*,
           CASE
               WHEN %(rank)s::bigint IS NOT NULL THEN %(rank)s::bigint
               WHEN lo IS NULL AND hi IS NULL THEN 0
               WHEN lo IS NULL THEN hi - %(gap)s
               WHEN hi IS NULL THEN lo + %(gap)s
               WHEN hi - lo > 1 THEN lo + (hi - lo) / 2
           END AS new_rank,
           allowed AND unit_id = {unit} AND NOT frozen AND (
               %(anchor)s::bigint IS NULL
               OR (anchor_id IS NOT NULL AND anchor_unit = unit_id AND anchor_id <> id)
           ) AS ok
    FROM calc
),
moved AS (
    UPDATE {table} t SET rank = placed.new_rank, updated_at = %(now)s
    FROM placed
    WHERE t.id = placed.id AND placed.ok AND placed.new_rank IS NOT NULL
    RETURNING t.*
)
SELECT {unit} AS locked_unit, placed.unit_id AS item_unit, placed.old_rank, placed.new_rank,
       placed.ok, placed.title AS item_title, placed.product_name, placed.frozen,
       placed.unit_name AS backlog_name, placed.allowed, placed.leader, placed.anchor_id,
       placed.anchor_unit,
       moved.id, moved.unit_id, placed.unit_name, p.slug AS product__slug, moved.title,
       moved.description, moved.type, moved.dimension, moved.status, moved.rank, moved.estimate,
       moved.source, moved.created_at, moved.updated_at, moved.started_at, moved.finished_at,
       moved.version
FROM placed
LEFT JOIN moved ON true
LEFT JOIN products_product p ON p.id = moved.product_id
"""


def move_sql(kind: str, *, lock: bool) -> str:
    """The statement of one kind of move: before, after, top, bottom, position, rank (a given
    rank).

    With `lock`, the backlog's lock goes first, in the same round trip: two statements in one
    message. Each takes its own snapshot (READ COMMITTED), so the move reads the backlog as it
    is once the lock is held, with every move that committed while this one waited. (One
    statement that locked and read would read the backlog as it was before the wait.)
    Without, the caller already holds the lock of unit `%(unit)s`.
    """
    lo, hi = _BOUNDS[kind]
    window = _WINDOW if kind in ("top", "position") else "ARRAY[]::bigint[]"
    unit = _LOCKED_UNIT if lock else "%(unit)s"
    statement = _MOVE_SQL.format(
        table=TABLE, lo=lo.format(unit=unit), hi=hi.format(unit=unit),
        window=window.format(unit=unit), unit=unit,
    )  # fmt: skip
    return f"{_LOCK_SQL};\n{statement}" if lock else statement


def move(
    *,
    item_id: int,
    kind: str,
    actor_id: int | None,
    leader: bool | None,
    leaders_group: str,
    now: dt.datetime,
    unit_id: int | None = None,
    anchor_id: int | None = None,
    position: int = 0,
    rank: int | None = None,
) -> dict[str, Any] | None:
    """Lock the item's backlog and move it, in one round trip (`unit_id` None), or move it in
    a backlog whose lock the caller holds. The statement's row (`locked_unit` says which
    backlog was locked), or None when the item is gone. `leader` None: the statement finds
    out from the leaders group.

    Two statements in one `execute` rely on psycopg2, which interpolates the parameters on
    the client and sends one simple-protocol message; under psycopg 3's server-side binding
    this would need its ClientCursor (or two round trips)."""
    params: dict[str, Any] = {
        "item": item_id,
        "unit": unit_id,
        "anchor": anchor_id,
        "offset": max(position - 1, 0),
        "rank": rank,
        "gap": GAP,
        "now": now,
        "actor": actor_id,
        "leader": leader,
        "leaders_group": leaders_group,
    }
    with connection.cursor() as cursor:
        cursor.execute(move_sql(kind, lock=unit_id is None), params)
        row = cursor.fetchone()
        if row is None:
            return None
        names = [c.name for c in cursor.description]
        return dict(zip(names, row, strict=True))
