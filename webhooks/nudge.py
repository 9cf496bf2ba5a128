"""Ask a worker to fan out and send soon after a commit, instead of at the next beat tick.

`after_commit()` registers one callback per transaction (a transaction recording a thousand
events nudges once); the callback publishes `webhook_tick` at most once per
WEBHOOK_NUDGE_EVERY seconds in this process. A nudge that cannot be published is only a
delay: the beat's `webhook-tick` (every WEBHOOK_TICK_EVERY seconds) finds the same events,
which is why this is a plain publish and not an outbox message (that would add a write, and
a lock on a shared key, to every transaction that records an event). With Celery eager
(tests, a development server without a broker) nothing is published.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

from portfolio.celery import app as celery_app

logger = logging.getLogger(__name__)

TICK_TASK = "webhooks.tasks.webhook_tick"
_last = 0.0


def _publish() -> None:
    global _last
    if celery_app.conf.task_always_eager:
        return
    now = time.monotonic()
    if now - _last < settings.WEBHOOK_NUDGE_EVERY:
        return
    _last = now
    try:
        celery_app.send_task(TICK_TASK, retry=False, expires=settings.WEBHOOK_TICK_EVERY * 4)
    except Exception as exc:  # a down broker: the beat will do it
        logger.warning("Webhook nudge not published: %s", exc)


def after_commit() -> None:
    if celery_app.conf.task_always_eager:
        return  # nothing to publish to: no callback either
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _publish()
        return
    # One callback per transaction, however many events it records.
    if any(entry[1] is _publish for entry in connection.run_on_commit):
        return
    transaction.on_commit(_publish)
