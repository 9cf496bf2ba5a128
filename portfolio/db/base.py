"""Django's PostgreSQL backend with a cheaper health check.

With CONN_HEALTH_CHECKS on, Django tests a kept connection before each request uses it, with
a `SELECT 1`: one round trip to the server on every request, about as long as the token
lookup of a cheap API call. Here a connection is usable without asking the server when
nothing can be wrong with it: it is open, idle (no transaction, none failed), and its socket
has nothing to read. A server that ends a connection (a restart, `pg_terminate_backend`, an
idle timeout, a pooler closing it) sends a message and closes the socket, which makes the
socket readable; so does any message the server sends unasked. In every such case, and
whenever the connection is not idle, the check falls back to Django's `SELECT 1`, so a
connection the server has ended is still found and replaced before the request uses it.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg2.extensions import TRANSACTION_STATUS_IDLE


def quiet(connection) -> bool:
    """True when the psycopg2 connection is open and idle and the server sent nothing."""
    if connection.closed or connection.get_transaction_status() != TRANSACTION_STATUS_IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is not None and quiet(self.connection):
            return True
        return super().is_usable()
