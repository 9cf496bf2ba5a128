"""Ask a worker to fan out and send soon after a commit, instead of at the next beat tick.

`after_commit()` registers one callback per transaction (a transaction recording a thousand
events nudges once); the callback publishes `webhook_tick` at most once per
WEBHOOK_NUDGE_EVERY seconds in this process. A nudge that cannot be published is only a
delay: the beat's `webhook-tick` (every WEBHOOK_TICK_EVERY seconds) finds the same events,
which is why this is a plain publish and not an outbox message (that would add a write, and
a lock on a shared key, to every transaction that records an event).

Whether any endpoint is active is kept in the shared cache (`LISTENING_KEY`, for
LISTENING_TTL seconds), so a request that records events runs no SQL for the nudge: every
write to an endpoint forgets the answer (webhooks/signals.py), at once and again at its commit,
and an unreachable cache means one probe of the small endpoints table, as before.

With Celery eager there is nothing to publish to. A server without a broker (`make demo`) has
WEBHOOK_SEND_WITHOUT_WORKER on: the commit then runs the tick in a thread of this process
(one thread at a time; a commit during its run makes it go round once more). Retries there
wait for the next commit, as no beat runs. The tests run eagerly with it off.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction

from portfolio.celery import app as celery_app
from webhooks.models import Endpoint

logger = logging.getLogger(__name__)

TICK_TASK = "webhooks.tasks.webhook_tick"
LISTENING_KEY = "webhooks:listening"
# A safety net only: every endpoint write forgets the answer anyway.
LISTENING_TTL = 300
_last = 0.0
_here_lock = threading.Lock()
_here_running = False
_here_again = False


def _eager() -> bool:
    return bool(celery_app.conf.task_always_eager)


def _tick_here() -> None:
    """Run the tick in a thread of this process; if one runs, ask it to go round again."""
    global _here_running, _here_again
    with _here_lock:
        if _here_running:
            _here_again = True
            return
        _here_running = True
        _here_again = False
    threading.Thread(target=_tick_loop, name="webhook-tick", daemon=True).start()


def _tick_loop() -> None:
    global _here_running, _here_again
    try:
        while True:
            try:
                celery_app.tasks[TICK_TASK].apply()
            except Exception:
                logger.exception("Webhook tick in the web process failed")
            with _here_lock:
                if not _here_again:
                    _here_running = False
                    return
                _here_again = False
    finally:
        connections.close_all()
        with _here_lock:
            _here_running = False


def _anyone_listening() -> bool:
    """An active endpoint exists: without one a tick has nothing to send, so a portfolio
    without webhooks publishes nothing. The answer comes from the shared cache when it is
    there, else from one probe of the small endpoints table. This runs after the commit, so it
    never raises into the request: when in doubt, nudge."""
    known = cache.get(LISTENING_KEY)
    if known is not None:
        return bool(known)
    try:
        listening = Endpoint.objects.filter(active=True).exists()
    except Exception as exc:
        logger.warning("Webhook nudge could not look for endpoints: %s", exc)
        return True
    cache.set(LISTENING_KEY, int(listening), LISTENING_TTL)
    return listening


def forget_listeners() -> None:
    """An endpoint was written: the next nudge asks the database again. Forgotten now, and
    again once the write commits, so a probe that ran in between cannot keep the old answer."""
    cache.delete(LISTENING_KEY)
    transaction.on_commit(lambda: cache.delete(LISTENING_KEY))


def _publish() -> None:
    global _last
    if _eager():
        if settings.WEBHOOK_SEND_WITHOUT_WORKER and _anyone_listening():
            _tick_here()
        return
    now = time.monotonic()
    if now - _last < settings.WEBHOOK_NUDGE_EVERY:
        return
    _last = now
    if not _anyone_listening():
        return
    try:
        celery_app.send_task(TICK_TASK, retry=False, expires=settings.WEBHOOK_TICK_EVERY * 4)
    except Exception as exc:  # a down broker: the beat will do it
        logger.warning("Webhook nudge not published: %s", exc)


def after_commit() -> None:
    if _eager() and not settings.WEBHOOK_SEND_WITHOUT_WORKER:
        return  # nothing to publish to and nothing to run here: no callback either
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _publish()
        return
    # One callback per transaction, however many events it records.
    if any(entry[1] is _publish for entry in connection.run_on_commit):
        return
    transaction.on_commit(_publish)
