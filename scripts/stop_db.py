#!/usr/bin/env python3
"""Stop the embedded PostgreSQL server of this checkout (`make stop-db`); the data stays."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.embedded_db import DATA_DIR, stop  # noqa: E402


def main() -> int:
    if not stop():
        print(f"The embedded PostgreSQL server ({DATA_DIR}) is not running.")
        return 0
    pid_file = DATA_DIR / "postmaster.pid"
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_file.exists():
        print(f"The embedded server ({DATA_DIR}) did not stop within 30 s.", file=sys.stderr)
        return 1
    print(f"Stopped the embedded PostgreSQL server ({DATA_DIR}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
