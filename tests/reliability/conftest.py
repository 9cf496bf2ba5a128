"""Real processes for the fault tests: a Redis of the test's own, which the test stops and
starts, and Celery workers pointed at it, which the test starts and kills."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from portfolio import outbox
from portfolio.celery import app as celery_app
from tests.worker import reconfigure_publisher, start_worker, stop_process, wait_for, worker_env

REDIS_SERVER = "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server on a free port, without persistence: stopping it loses every
    queued message, as a crashed or replaced Redis does."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.log = directory / "redis.log"
        self.process: subprocess.Popen | None = None

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self) -> None:
        command = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        with self.log.open("a") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=out)
        wait_for(self._answers, 15, "the private Redis did not answer", self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        wait_for(lambda: not self._answers(), 15, "the private Redis kept answering", self.log)

    def queued(self, queue: str = "celery") -> int:
        return redis.Redis(port=self.port).llen(queue)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            stop_process(server.process)


class Workers:
    """Celery workers on the private Redis, seeing the test's database; their logs are kept
    so a test can count what each task really did, across every worker it started."""

    def __init__(self, broker: PrivateRedis, directory: Path) -> None:
        self.broker = broker
        self.directory = directory
        self.outbox = directory / "mail"
        self.outbox.mkdir()
        self.processes: list[subprocess.Popen] = []
        # The worker's own relay (a packet queues its PDF) must not sit out a long backoff.
        self.env = worker_env(broker.url, self.outbox, OUTBOX_BROKER_BACKOFF="0.5")

    def start(self) -> subprocess.Popen:
        log = self.directory / f"worker-{len(self.processes) + 1}.log"
        process = start_worker(self.env, "celery", log)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.directory.glob("worker-*.log")))

    def count(self, pattern: str) -> dict[int, int]:
        """How many times each id appears in `pattern` (one group) across the workers' logs."""
        counts: dict[int, int] = {}
        for match in re.finditer(pattern, self.logs()):
            key = int(match.group(1))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def mails(self) -> list[Path]:
        return sorted(self.outbox.iterdir())


@pytest.fixture
def workers(transactional_db, tmp_path, private_redis):
    """Workers on the private Redis (none started yet), and this process publishing there."""
    publish = {"task_always_eager": False, "broker_url": private_redis.url}
    publish["task_default_queue"] = "celery"
    saved = {key: celery_app.conf.get(key) for key in publish}
    reconfigure_publisher(publish, new_broker=True)
    group = Workers(private_redis, tmp_path)
    try:
        yield group
    finally:
        reconfigure_publisher(saved, new_broker=True)
        for process in group.processes:
            stop_process(process)


def settle(predicate, timeout: float, what: str, log_of) -> None:
    """Run the outbox's reconciler (as beat would, here every half second, re-sending what was
    published but is not done after 3 s) until `predicate` holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox.redeliver(pending_after=0, published_after=3)
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:.0f} s; worker logs:\n{log_of()}")
