"""Background jobs of the kernel: the outbox's safety net."""

from __future__ import annotations

from celery import shared_task

from portfolio import events, outbox


@shared_task(ignore_result=True)
def outbox_redeliver() -> dict:
    """Publish the outbox messages still owed (scheduled by beat every OUTBOX_RELAY_EVERY s).

    Messages a request could not publish (the broker was down) go once they are
    OUTBOX_PENDING_AFTER old; messages published but not done after OUTBOX_REDELIVER_AFTER
    (lost with their Redis or their killed worker) go again. Safe to run at any time and in
    several places at once: rows are locked with SKIP LOCKED and the tasks are idempotent.
    """
    return outbox.redeliver()


@shared_task(ignore_result=True)
def prune_events() -> int:
    """Delete the events past EVENT_RETENTION_DAYS (beat, daily); re-runnable at any time."""
    return events.prune()
