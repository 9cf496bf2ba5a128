"""A Celery worker in a process of its own, for the bench: `celery -A portfolio worker` with
the options a figure needs, its output in a log file, ready when it says so."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    def __init__(self, env: dict[str, str], options: list[str], log_path: Path, who: str):
        celery = str(Path(sys.executable).parent / "celery")
        self.who = who
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [celery, "-A", "portfolio", "worker", *options],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.who}: the celery worker exited; see {self.log_path}")
            if "ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise SystemExit(f"{self.who}: the celery worker was not ready; see {self.log_path}")

    def stop(self, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
