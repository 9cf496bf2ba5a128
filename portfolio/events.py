"""Domain events: every change a service makes, recorded in one place.

Each service that changes something calls `record()` (or `record_many()` for a set-based
write) inside its own transaction, after the change: the event is written with the change
and disappears with it if the transaction rolls back. An event says what happened (`type`,
one of `EVENT_TYPES`), to which object, who did it (a login, or a background job by name),
which fields changed (old and new values where the service knows them) and the object's API
body after the change.

The kernel knows the event types (names only, listed once below: the docs, the feed's type
filter and a future webhook form read this list) but not the apps. Each app registers, in its
`AppConfig.ready()`, how to make the API body of its objects: `register_representation(
"product", function)`, where the function takes a list of ids and answers their bodies by id,
from the resource's own `Output`. Without a registration the event's `data` is null.

The feed (`GET /api/v1/events/`, portfolio/api/events.py) reads events in commit order: see
the `Event` model and migration 0010 for how positions are given at commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db import models as db_models
from django.dispatch import Signal
from django.utils import timezone

from portfolio.bulk import copy_rows
from portfolio.models import Event, EventPruning
from portfolio.permissions import AnyUser


@dataclass(frozen=True)
class EventType:
    """One kind of event: `<resource>.<verb>`, what it means, and who may read it."""

    name: str
    description: str
    leaders_only: bool = False

    @property
    def object_type(self) -> str:
        return self.name.split(".", 1)[0]


def _types(*entries: EventType) -> dict[str, EventType]:
    return {e.name: e for e in entries}


# The one list of event types. Adding a type here makes it valid in the feed's filter and
# lists it in the schema's description; docs/api.md "Events" describes each.
EVENT_TYPES: dict[str, EventType] = _types(
    EventType("product.created", "A product was added to the portfolio."),
    EventType("product.updated", "A product's description, team, links or ids changed."),
    EventType("product.transitioned", "A product moved to another lifecycle stage."),
    EventType("product.cluster_changed", "A product joined, left or changed cluster."),
    EventType("unit.owner_assigned", "An ownership unit got a new accountable owner."),
    EventType("person.created", "A person was added."),
    EventType("person.updated", "A person's details changed."),
    EventType("person.departed", "A person left: their units have no accountable owner."),
    EventType("team.created", "A team was added."),
    EventType("team.updated", "A team or its members changed."),
    EventType("cluster.created", "A cluster was created."),
    EventType("cluster.updated", "A cluster's name, reasons or owner changed."),
    EventType("cluster.deleted", "A cluster was dissolved; its members stand alone again."),
    EventType("backlog_item.created", "An item was added to a backlog."),
    EventType("backlog_item.updated", "A backlog item's fields or status changed."),
    EventType("backlog_item.moved", "A backlog item moved within its backlog."),
    EventType("backlog_item.deleted", "A backlog item was removed."),
    EventType("backlog_item.commented", "Someone commented on a backlog item."),
    EventType("backlog_item.comment_deleted", "A comment on a backlog item was removed."),
    EventType("metric.created", "A metric was defined for a product."),
    EventType("metric.updated", "A metric's definition or thresholds changed."),
    EventType("metric.deleted", "A metric was removed."),
    EventType("metric.status_changed", "A metric's status changed after new readings."),
    EventType(
        "metric.readings_ingested",
        "New or corrected readings of a metric were stored, without changing its status (one "
        "event per metric and batch, not per reading).",
    ),
    EventType("metric_reading.deleted", "A reading was removed."),
    EventType("analytics_run.requested", "A leader asked for a new analytics run."),
    EventType("analytics_run.finished", "An analytics run finished: its figures are the latest."),
    EventType("analytics_run.failed", "An analytics run failed; nothing of it was kept."),
    EventType("split_signal.opened", "An analytics run found a reason to split a cluster."),
    EventType("split_signal.closed", "A split signal was acted on, dismissed or cleared."),
    EventType("funding_allocation.set", "A unit's funding for a fiscal year was set."),
    EventType("investment_request.created", "An investment request was drafted."),
    EventType("investment_request.submitted", "An investment request was submitted."),
    EventType("investment_request.decided", "An investment request was approved or rejected."),
    EventType("investment_request.withdrawn", "An investment request was withdrawn."),
    EventType("review_cycle.scheduled", "A quarter's review cycle was scheduled."),
    EventType("review_cycle.closed", "A review cycle was closed."),
    EventType("review.rescheduled", "A review moved to another day or slot."),
    EventType("review.closed", "A review was closed with its summary."),
    EventType("review_packet.requested", "A review packet was asked for."),
    EventType("review_packet.generated", "A review packet's data was frozen and its page drawn."),
    EventType("review_packet.failed", "A review packet could not be made; see its error."),
    EventType("review_packet.printed", "A review packet's PDF was printed."),
    EventType("decision.recorded", "A review recorded a decision."),
    EventType("decision.deleted", "A decision was removed."),
    EventType("action_item.created", "A review action item was added."),
    EventType("action_item.updated", "An action item was marked done or open again."),
    EventType("action_item.deleted", "An action item was removed."),
    EventType("settings.updated", "The portfolio settings changed.", leaders_only=True),
    EventType(
        "login.role_changed",
        "Single sign-on made a login a portfolio leader, or no longer one (the group claim).",
        leaders_only=True,
    ),
    EventType("api_token.created", "An API token was made (never its key).", leaders_only=True),
    EventType("api_token.revoked", "An API token was revoked.", leaders_only=True),
)

LEADERS_ONLY_TYPES = frozenset(name for name, t in EVENT_TYPES.items() if t.leaders_only)

# Fields that move with every save and say nothing about the change itself.
BOOKKEEPING = frozenset({"updated_at", "version", "created_at"})

# Sent after each batch is written, in the writer's transaction (a reaction to the commit is
# the receiver's to register with transaction.on_commit): webhooks/signals.py nudges its
# fan-out so. Arguments: `count`.
events_recorded = Signal()

Representation = Callable[[Sequence[int]], Mapping[int, Any]]
RowRepresentation = Callable[[Mapping[str, Any]], Any]
RowsRepresentation = Callable[[Sequence[Mapping[str, Any]]], list[Any]]
_representations: dict[str, Representation] = {}
_row_representations: dict[str, RowRepresentation] = {}
_rows_representations: dict[str, RowsRepresentation] = {}


def register_representation(
    object_type: str,
    function: Representation,
    *,
    of_row: RowRepresentation | None = None,
    of_rows: RowsRepresentation | None = None,
) -> None:
    """Register how to make the API bodies of `object_type`'s objects: `function(ids)`
    answers {id: body}, the body as the resource's API answers it. `of_row(row)`, if given,
    makes one body from a row the writer already holds (the resource's row columns), so a
    service that read them in its own statement records its event without another query;
    `of_rows(rows)` makes the bodies of many such rows at once (a set-based write's)."""
    _representations[object_type] = function
    if of_row is not None:
        _row_representations[object_type] = of_row
    if of_rows is not None:
        _rows_representations[object_type] = of_rows


def representation_of_row(object_type: str, row: Mapping[str, Any]) -> Any:
    """The API body of one object from its row (see `register_representation`); None when
    the type registered no row representation."""
    function = _row_representations.get(object_type)
    return function(row) if function is not None else None


def representations_of_rows(
    object_type: str, rows: Sequence[Mapping[str, Any]]
) -> list[Any] | None:
    """The API bodies of many objects from their rows, in order (see `register_representation`);
    None when the type registered no `of_rows`."""
    function = _rows_representations.get(object_type)
    return function(rows) if function is not None else None


def representations(object_type: str, ids: Sequence[int]) -> Mapping[int, Any]:
    function = _representations.get(object_type)
    if function is None or not ids:
        return {}
    return function(ids)


Changed = Mapping[str, Any] | Iterable[str] | None


def values_of(instance: db_models.Model, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The instance's concrete field values by field name (a foreign key as its id), for
    `diff()`: take them before the change, then compare with after."""
    fields = instance._meta.concrete_fields
    wanted = set(names) if names is not None else None
    return {
        f.name: getattr(instance, f.attname)
        for f in fields
        if (wanted is None or f.name in wanted) and not f.primary_key
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field whose value differs, bookkeeping fields left out."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name not in BOOKKEEPING and before.get(name) != value
    }


def _changed(changed: Changed) -> dict[str, Any]:
    """Stored as {field: [old, new]} where the values are known, {field: null} where only
    the name is."""
    if changed is None:
        return {}
    if isinstance(changed, Mapping):
        return {str(k): (list(v) if isinstance(v, tuple) else v) for k, v in changed.items()}
    return {str(name): None for name in changed}


def _actor(actor: AnyUser | None) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.pk:
        return None, ""
    name = actor.get_full_name() or actor.get_username()
    return actor.pk, name


def _check_type(type: str) -> EventType:
    try:
        return EVENT_TYPES[type]
    except KeyError:
        raise LookupError(f"{type!r} is not in portfolio.events.EVENT_TYPES.") from None


def record(
    type: str,
    obj: db_models.Model | int,
    *,
    actor: AnyUser | None,
    job: str = "",
    changed: Changed = None,
    data: Any = ...,
    place_now: bool = False,
) -> Event:
    """Record one event of `type` for `obj` (a model instance or its id), made by `actor`
    (a login; None for a background job, named by `job`), in the current transaction.

    `changed` is {field: (old, new)}, or the names alone; `data` defaults to the object's
    registered API body as it is now (pass None for an object that is gone). `place_now`:
    see `record_batch`.
    """
    pk = obj if isinstance(obj, int) else obj.pk
    bodies = ... if data is ... else [data]
    entries = [Entry(type, pk, changed)]
    (event,) = record_batch(entries, actor=actor, job=job, data=bodies, place_now=place_now)
    return event


def record_many(
    type: str,
    ids: Sequence[int],
    *,
    actor: AnyUser | None,
    job: str = "",
    changed: Sequence[Changed] | None = None,
    data: Any = ...,
) -> list[Event]:
    """Record one event of `type` for each object id, in order, in one INSERT (the bodies in
    one call of the registered representation: a set-based write stays set-based)."""
    changes = list(changed) if changed is not None else [None] * len(ids)
    entries = [Entry(type, pk, change) for pk, change in zip(ids, changes, strict=True)]
    return record_batch(entries, actor=actor, job=job, data=data)


@dataclass(frozen=True)
class Entry:
    """One event of a batch: its type, its object's id and what changed."""

    type: str
    object_id: int
    changed: Changed = None


def record_batch(
    entries: Sequence[Entry],
    *,
    actor: AnyUser | None,
    job: str = "",
    data: Any = ...,
    place_now: bool = False,
) -> list[Event]:
    """Record the events of a set-based write, of one or several types, in their order, with
    one INSERT; the bodies come from one call of each object type's representation.

    With `place_now` the events are written with their feed positions (see `_reserve`)
    instead of being placed by the commit trigger, which rewrites every event row (for one
    event that rewrite is about half a millisecond of the commit): only for the last write of
    a transaction that commits at once (the bulk upsert; a backlog move that is its own
    transaction, see `commits_next`), because from here to the commit every other
    transaction that recorded events waits for this one. Below COPY_FROM events the
    positions are taken in the INSERT's own round trip."""
    if not entries:
        return []
    kinds = [_check_type(entry.type) for entry in entries]
    actor_id, actor_name = _actor(actor)
    if data is ...:
        wanted: dict[str, list[int]] = {}
        for kind, entry in zip(kinds, entries, strict=True):
            wanted.setdefault(kind.object_type, []).append(entry.object_id)
        bodies = {t: representations(t, list(dict.fromkeys(ids))) for t, ids in wanted.items()}
        datas = [
            bodies[k.object_type].get(e.object_id) for k, e in zip(kinds, entries, strict=True)
        ]
    elif data is None:
        datas = [None] * len(entries)
    else:
        datas = list(data)
    now = timezone.now()
    if len(entries) >= COPY_FROM:
        base = _reserve(len(entries), actor_id=actor_id) if place_now else None
        _copy(
            entries,
            kinds,
            datas,
            actor_id=actor_id,
            actor_name=actor_name,
            job=job,
            at=now,
            base=base,
        )
        events_recorded.send(sender=Event, count=len(entries))
        return []
    events = [
        Event(
            type=entry.type,
            at=now,
            actor_id=actor_id,
            actor_name=actor_name,
            job=job,
            object_type=kind.object_type,
            object_id=entry.object_id,
            data=body,
            changed=_changed(entry.changed),
        )
        for kind, entry, body in zip(kinds, entries, datas, strict=True)
    ]
    _insert(events, placed_for=actor_id if place_now else _UNPLACED)
    events_recorded.send(sender=Event, count=len(events))
    return events


# Event rows below COPY_FROM: one INSERT written from the model's fields (what bulk_create
# sends, without building it through the ORM for each event: a few hundred microseconds of
# Python for a statement that costs the database less).
_INSERT_FIELDS = [f for f in Event._meta.concrete_fields if not f.primary_key]
_INSERT_INTO = "INSERT INTO {table} ({columns}) VALUES ".format(
    table=connection.ops.quote_name(Event._meta.db_table),
    columns=", ".join(connection.ops.quote_name(f.column) for f in _INSERT_FIELDS),
)
_RETURNING = " RETURNING " + connection.ops.quote_name(Event._meta.pk.column)
# A row's placeholders; placed, its position is the next one reserved as the row is written.
_ROW = "(" + ", ".join("%s" for _ in _INSERT_FIELDS) + ")"
_PLACED_ROW = (
    "("
    + ", ".join(
        "portfolio_event_reserve(1)" if f.name == "position" else "%s" for f in _INSERT_FIELDS
    )
    + ")"
)
_UNPLACED = object()


def _insert(events: list[Event], *, placed_for: Any) -> None:
    """Write `events` with one INSERT and give them their ids. `placed_for` is the acting
    login's id (or None) when they take their feed positions as they are written (rows in
    order, under the feed lock; the checks that must come before the lock go in the same
    message, see `_reserve`); `_UNPLACED` leaves them to the commit trigger."""
    placed = placed_for is not _UNPLACED
    fields = [f for f in _INSERT_FIELDS if not (placed and f.name == "position")]
    sql = _INSERT_INTO + ", ".join([_PLACED_ROW if placed else _ROW] * len(events)) + _RETURNING
    params = [f.get_db_prep_save(f.pre_save(e, True), connection) for e in events for f in fields]
    if placed:
        before, before_params = _before_the_lock(placed_for)
        sql, params = before + sql, [*before_params, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias
        if placed:  # the position is the database's: read if asked for
            del event.__dict__["position"]


def commits_next() -> bool:
    """True when the current atomic block is the outermost one: a service's last write then
    comes right before the commit (no caller's transaction goes on after it), which is when
    `record_batch(place_now=True)` may take the feed lock."""
    return len(connection.atomic_blocks) == 1


# From this many events a batch is written with COPY: building and compiling thousands of model
# instances cost more than the change itself (10,000 events: 2.1 s by bulk_create, 0.5 s so).
COPY_FROM = 200
_COPY_COLUMNS = [
    "type",
    "at",
    "actor_id",
    "actor_name",
    "job",
    "object_type",
    "object_id",
    "data",
    "changed",
]


def _copy(
    entries: Sequence[Entry],
    kinds: Sequence[EventType],
    datas: Sequence[Any],
    *,
    actor_id: int | None,
    actor_name: str,
    job: str,
    at: Any,
    base: int | None = None,
) -> None:
    """The batch's rows with one COPY (one statement, as bulk_create's INSERT); without
    `base` the deferred commit trigger places them like any other rows, with it they take the
    positions from `base` on, in order."""
    encode = DjangoJSONEncoder(separators=(",", ":")).encode
    stamp = at.isoformat()
    # A generator: each body is encoded as its piece of the COPY is sent (portfolio.bulk).
    rows = (
        {
            "position": None if base is None else base + n,
            "type": entry.type,
            "at": stamp,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "job": job,
            "object_type": kind.object_type,
            "object_id": entry.object_id,
            "data": encode(body) if body is not None else "",
            "changed": encode(_changed(entry.changed)) if entry.changed else "{}",
        }
        for n, (entry, kind, body) in enumerate(zip(entries, kinds, datas, strict=True))
    )
    copy_rows(Event, _COPY_COLUMNS if base is None else ["position", *_COPY_COLUMNS], rows)


# Run as one message: the actor's row locked for the events' foreign key, every check this
# transaction has deferred run now, then the positions taken under the commit trigger's lock.
_DEFERRED_NOW = "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; "


def _before_the_lock(actor_id: int | None) -> tuple[str, list[Any]]:
    """The statements that must run before the feed lock is taken, and their parameters."""
    if actor_id is None:
        return _DEFERRED_NOW, []
    user_table = connection.ops.quote_name(User._meta.db_table)  # Event.actor's table
    return f"SELECT 1 FROM {user_table} WHERE id = %s FOR KEY SHARE; {_DEFERRED_NOW}", [actor_id]


def _reserve(count: int, *, actor_id: int | None) -> int:
    """Take `count` feed positions now, for events about to be written with them; answers
    the first. The same lock and sequence as the commit trigger (migrations 0010 and 0012):
    the lock is held until this transaction ends, so no other transaction takes a position or
    commits its events in between, and the positions still grow in commit order.

    Nothing may wait for a row lock while the lock is held, or a transaction holding that row
    and waiting at its commit for this lock would deadlock with this one. So, first: the
    actor's login row is locked for the events' foreign key (its check at commit then waits
    for no one), and every check this transaction deferred until its commit (the foreign keys
    of the rows written so far, and the placing of any events it recorded before) runs now,
    before the lock; `SET CONSTRAINTS ALL DEFERRED` then restores the default for what
    follows (every deferrable constraint here is initially deferred; a test holds it)."""
    sql, params = _before_the_lock(actor_id)
    with connection.cursor() as cursor:
        cursor.execute(sql + "SELECT portfolio_event_reserve(%s)", [*params, count])
        return cursor.fetchone()[0]


# --- Retention -----------------------------------------------------------------------------

PRUNE_BATCH = 5000


def prune(*, now: Any = None) -> int:
    """Delete the events older than EVENT_RETENTION_DAYS (0 keeps them all), oldest first, in
    batches of PRUNE_BATCH rows (short transactions, no long lock on the feed), and note how
    far the feed now starts (`EventPruning`), so a client whose cursor is older is told (410)
    instead of silently missing changes. Returns how many were deleted; safe to run again."""
    days = settings.EVENT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        with transaction.atomic():
            ids_positions = list(
                Event.objects.filter(position__isnull=False, at__lt=cutoff)
                .order_by("position")
                .values_list("id", "position")[:PRUNE_BATCH]
            )
            if not ids_positions:
                return deleted
            Event.objects.filter(id__in=[i for i, _ in ids_positions]).delete()
            last = ids_positions[-1][1]
            assert last is not None  # placed events only
            EventPruning.objects.create(pruned_through=last, deleted=len(ids_positions))
            deleted += len(ids_positions)


def pruned_through() -> int:
    """The last position pruning removed (0: nothing was ever pruned)."""
    last = EventPruning.objects.order_by("-pruned_through").values_list("pruned_through", flat=True)
    return next(iter(last[:1]), 0)
