"""The one way a change dispatches background work: a transactional outbox.

`enqueue(task, *args, **kwargs)` writes an `OutboxMessage` in the caller's transaction, so a
job exists exactly when the change committed (a rollback leaves nothing to send), and relays it
to the broker once the transaction commits. The relay never raises into the request: when the
broker cannot be reached the message simply stays pending, and the beat task `outbox_redeliver`
(portfolio/tasks.py) publishes it once the broker is back.

A message is done when its task succeeds: the task runs under the Celery id `outbox-<pk>` and
the `task_success` handler below stamps `done_at`. A message published but never done (its
Redis lost the queue, its worker was killed mid-task) is published again after
`OUTBOX_REDELIVER_AFTER` seconds, so every task dispatched through here must be idempotent:
a packet, a PDF or a notice happens once however often its task runs.

Relays lock the rows they publish with `SELECT ... FOR UPDATE SKIP LOCKED`, so a request's own
relay and the beat's never send one message twice at the same moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from celery import Task, signals
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portfolio.celery import app as celery_app
from portfolio.models import OutboxMessage

logger = logging.getLogger(__name__)

TASK_ID_PREFIX = "outbox-"

# After a publish fails, this process leaves the broker alone for OUTBOX_BROKER_BACKOFF
# seconds: during an outage only one request in that window pays the connection timeout, and
# one relay stops at its first failure instead of timing out once per message.
_broker_down_until = 0.0


def _eager() -> bool:
    return bool(celery_app.conf.task_always_eager)


def _task_name(task: Task | str) -> str:
    name = task if isinstance(task, str) else task.name
    if name not in celery_app.tasks:
        # Services name tasks by string (a service cannot import the tasks that call it);
        # Celery's own autodiscovery loads every app's tasks module once.
        celery_app.loader.import_default_modules()
    if name not in celery_app.tasks:
        raise LookupError(f"No Celery task is registered under {name!r}.")
    return name


class _Relay:
    """The on-commit callback of one transaction: publishes the messages it enqueued."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.forced: set[int] = set()
        self.started = False

    def add(self, pk: int, *, force: bool) -> None:
        if pk not in self.ids:
            self.ids.append(pk)
        if force:
            self.forced.add(pk)

    def __call__(self) -> None:
        self.started = True  # a task run eagerly from here enqueues into a relay of its own
        relay(self.ids, force=self.forced)


def _relay_for_this_transaction() -> _Relay:
    """The relay already registered in the current transaction, or a new one.

    One callback per transaction whatever the number of messages: a fan-out of 26 packets makes
    one relay that locks its rows once and stops at the first broker failure. A message
    enqueued in a savepoint that later rolls back is simply not found when the relay runs.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, callback, *_ in connection.run_on_commit:
            if isinstance(callback, _Relay) and not callback.started:
                return callback
    current = _Relay()
    transaction.on_commit(current)
    return current


def enqueue(task: Task | str, *args: Any, outbox_key: str = "", **kwargs: Any) -> OutboxMessage:
    """Record that `task(*args, **kwargs)` must run once the current transaction commits.

    Arguments must be JSON values (ids and plain values). With `outbox_key`, a message with
    that key still open is reused and published again rather than doubled: asking again for a
    packet that is still pending re-sends its job.
    """
    name = _task_name(task)
    if outbox_key:
        (message,) = enqueue_many(name, [args], keys=[outbox_key], kwargs=kwargs)
        return message
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs)
    _relay_on_commit([message.pk], force=False)
    return message


def enqueue_many(
    task: Task | str,
    calls: Sequence[Sequence[Any]],
    *,
    keys: Sequence[str],
    kwargs: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """`enqueue` for many calls of one task at once, each with its key (a fan-out): two
    statements whatever their number. Messages still open under those keys are reused and
    published again."""
    name = _task_name(task)
    if len(keys) != len(calls) or not all(keys):
        raise ValueError("enqueue_many needs one non-empty key per call.")
    if not calls:
        return []
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(task=name, args=list(args), kwargs=kwargs or {}, key=key)
            for args, key in zip(calls, keys, strict=True)
        ],
        ignore_conflicts=True,  # an open message under the key already: reuse it below
    )
    by_key = {m.key: m for m in OutboxMessage.objects.filter(done_at__isnull=True, key__in=keys)}
    messages = [by_key[key] for key in keys]
    _relay_on_commit([m.pk for m in messages], force=True)
    return messages


def _relay_on_commit(ids: list[int], *, force: bool) -> None:
    if transaction.get_connection().in_atomic_block:
        current = _relay_for_this_transaction()
        for pk in ids:
            current.add(pk, force=force)
    else:  # autocommit: the rows are already committed
        relay(ids, force=ids if force else ())


def _publish(message: OutboxMessage) -> None:
    task = celery_app.tasks[message.task]
    # retry=False: the outbox is the retry. A publish to a dead broker fails within the
    # connect timeout instead of walking the publish retry policy inside a web request.
    task.apply_async(
        args=message.args,
        kwargs=message.kwargs,
        task_id=f"{TASK_ID_PREFIX}{message.pk}",
        retry=False,
    )


def _send(rows: Iterable[OutboxMessage]) -> int:
    """Publish `rows` (locked by the caller) in order; stop at the first broker failure."""
    global _broker_down_until
    sent, touched = 0, []
    for message in rows:
        if not _eager() and time.monotonic() < _broker_down_until:
            break
        message.attempts += 1
        touched.append(message)
        if _eager():
            # No broker: the task runs here and now, and its errors are the caller's to see.
            _publish(message)
            message.published_at, message.last_error = timezone.now(), ""
            sent += 1
            continue
        try:
            _publish(message)
        except Exception as exc:  # any broker or network error: the message stays pending
            _broker_down_until = time.monotonic() + settings.OUTBOX_BROKER_BACKOFF
            message.last_error = f"Publishing failed: {type(exc).__name__}: {exc}"[:2000]
            logger.warning("Outbox message %s not published: %s", message.pk, exc)
            break
        message.published_at, message.last_error = timezone.now(), ""
        sent += 1
    if touched:
        OutboxMessage.objects.bulk_update(touched, ["attempts", "published_at", "last_error"])
    return sent


def relay(ids: list[int], *, force: Iterable[int] = ()) -> int:
    """Publish the messages `ids` that are still unpublished (or in `force`); never raises
    for a broker failure. Returns how many were published."""
    forced = set(force)
    try:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids, done_at__isnull=True)
                .filter(Q(published_at__isnull=True) | Q(pk__in=forced))
                .order_by("created_at", "id")
            )
            return _send(rows)
    except Exception:
        if _eager():
            raise
        # The change is committed whatever happens here; the beat will relay the rest.
        logger.exception("Outbox relay of %s failed; left for outbox_redeliver", ids)
        return 0


def redeliver(
    *, pending_after: float | None = None, published_after: float | None = None, limit: int = 500
) -> dict:
    """Publish what is still owed: messages never published for `pending_after` seconds
    (their request's relay could not reach the broker) and messages published but not done
    for `published_after` seconds (the broker or the worker lost them). Messages tried
    `OUTBOX_MAX_ATTEMPTS` times are left alone for a person to look at."""
    global _broker_down_until
    _broker_down_until = 0.0  # the beat's run is the probe that finds the broker back
    now = timezone.now()
    pending_after = settings.OUTBOX_PENDING_AFTER if pending_after is None else pending_after
    published_after = (
        settings.OUTBOX_REDELIVER_AFTER if published_after is None else published_after
    )
    due = Q(published_at__isnull=True, created_at__lte=now - _seconds(pending_after)) | Q(
        published_at__lte=now - _seconds(published_after)
    )
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(due, done_at__isnull=True, attempts__lt=settings.OUTBOX_MAX_ATTEMPTS)
            .order_by("created_at", "id")[:limit]
        )
        sent = _send(rows)
    return {"due": len(rows), "published": sent}


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def backlog() -> dict:
    """What the outbox still owes, for the management command and the health of the queue."""
    open_ = OutboxMessage.objects.filter(done_at__isnull=True)
    oldest = open_.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "pending": open_.filter(published_at__isnull=True).count(),
        "published_not_done": open_.filter(published_at__isnull=False).count(),
        "given_up": open_.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).count(),
        "oldest": oldest,
    }


def _message_id(task_id: str | None) -> int | None:
    if task_id and task_id.startswith(TASK_ID_PREFIX):
        try:
            return int(task_id[len(TASK_ID_PREFIX) :])
        except ValueError:
            return None
    return None


@signals.task_success.connect
def _mark_done(sender: Task | None = None, **_: Any) -> None:
    """The task behind a message succeeded: the message is done and never re-sent."""
    pk = _message_id(getattr(getattr(sender, "request", None), "id", None))
    if pk is not None:
        OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).update(
            done_at=timezone.now(), last_error=""
        )


@signals.task_failure.connect
def _note_failure(
    sender: Task | None = None, task_id: str | None = None, exception: Any = None, **_: Any
) -> None:
    """The task gave up (its own retries spent): say why; `outbox_redeliver` tries again
    later, up to OUTBOX_MAX_ATTEMPTS publications."""
    pk = _message_id(task_id)
    if pk is not None:
        OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).update(
            last_error=f"The task failed: {type(exception).__name__}: {exception}"[:2000]
        )
