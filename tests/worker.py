"""A real Celery worker in its own process, for the tests that are about background jobs.

`worker` starts `celery worker` on a queue of its own, seeing the test's database (so the test
uses transactional_db) and writing mail to files; while it runs, this process publishes tasks
to that queue instead of running them eagerly. Registered as a plugin in tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from portfolio.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def _database_url(db: dict) -> str:
    """The URL of the database this test runs in, for a process outside pytest."""
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    netloc = f"{auth}@{db.get('HOST') or ''}" + (f":{db['PORT']}" if db.get("PORT") else "")
    socket_dir = (db.get("OPTIONS") or {}).get("host")
    query = f"?host={quote(socket_dir, safe='')}" if socket_dir else ""
    return f"postgres://{netloc}/{quote(db['NAME'], safe='')}{query}"


def wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout:.0f} s; worker log:\n{log.read_text()}")


@pytest.fixture
def broker_url() -> str:
    return settings.CELERY_BROKER_URL or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def worker_env(broker_url: str, outbox: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process seeing this test's database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "TESTING": "1",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": f"filemail:///{outbox}",  # four slashes in all: an absolute path
        "DEFAULT_FROM_EMAIL": "portfolio@example.org",
        **extra,
    }


def start_worker(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen:
    """`celery worker` (solo pool: the task runs in the worker process itself) on `queue`,
    logging to `log`; returns once it says it is ready."""
    command = [
        sys.executable, "-m", "celery", "-A", "portfolio", "worker",
        "--pool=solo", "--concurrency=1", "-Q", queue, "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    with log.open("a") as out:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    try:
        wait_for(lambda: "ready." in log.read_text(), 60, "the worker was not ready", log)
    except BaseException:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def reconfigure_publisher(conf: dict, *, new_broker: bool = False) -> None:
    """Point this process's Celery app at another broker, queue or eagerness.

    The app caches its queues, router and connection pool on first use; an earlier test in
    this process may have built them for another broker, so drop them with the change (the
    connection pool only when the broker itself changes: `new_broker`)."""
    celery_app.conf.update(conf)
    celery_app.__dict__.pop("amqp", None)
    if new_broker:
        celery_app._pool = None


@pytest.fixture
def worker(transactional_db, tmp_path, broker_url):
    """A celery worker in its own process, on a queue of its own, seeing this test's database
    and writing mail to files; this process publishes to that queue instead of running eagerly."""
    queue = f"test-departure-{uuid.uuid4().hex[:12]}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log = tmp_path / "worker.log"
    publish_to_worker = {
        "task_always_eager": False,
        "broker_url": broker_url,
        "task_default_queue": queue,
    }
    saved = {key: celery_app.conf.get(key) for key in publish_to_worker}
    process = start_worker(worker_env(broker_url, outbox), queue, log)
    try:
        reconfigure_publisher(publish_to_worker)
        yield {"outbox": outbox, "log": log, "pid": process.pid}
    finally:
        reconfigure_publisher(saved)
        stop_process(process)
        # The queue is empty by now; drop its keys and bindings so runs leave nothing behind.
        client = redis.Redis.from_url(broker_url)
        leftovers = list(client.scan_iter(match=f"*{queue}*"))
        if leftovers:
            client.delete(*leftovers)
