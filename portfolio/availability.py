"""503 with Retry-After while the database cannot be reached, instead of a 500.

A PostgreSQL restart (an upgrade, a failover, `pg_ctl restart`) ends every open connection:
requests that were using one fail with "terminating connection due to administrator command"
or "server closed the connection unexpectedly", and requests that arrive while the server is
down fail to connect. None of that is a bug in the request or in the code, and the client can
simply send it again a moment later; a 500 says the opposite. Every write is one transaction,
so a request that failed this way changed nothing (PostgreSQL rolls back what did not commit).

Only connection-level failures are mapped (see `is_connection_failure`); a deadlock, a
statement timeout or a bad query stay what they are. The next request gets a fresh
connection: Django closes an unusable one at the end of the request, and CONN_HEALTH_CHECKS
tests a reused one before the request uses it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# Seconds a client should wait before trying again: a restart takes a second or two.
RETRY_AFTER = 2

# SQLSTATEs that mean "this connection is gone or cannot be made": class 08 (connection
# exception), and 57P01-57P03 (the server is shutting down, crashed, or not yet accepting).
CONNECTION_SQLSTATE_CLASS = "08"
SHUTDOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})

DETAIL = "The database is restarting or out of reach; nothing was changed. Try again shortly."
PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Back in a moment</title></head><body>"
    "<h1>Back in a moment</h1>"
    "<p>The portfolio's database is restarting or out of reach, so nothing was changed. "
    "Reload the page in a few seconds.</p></body></html>"
)

_MARK = "_portfolio_database_unavailable"


def is_connection_failure(exc: BaseException | None) -> bool:
    """True when `exc` says the database connection failed, not that the query did."""
    if isinstance(exc, InterfaceError):
        # psycopg2 raises InterfaceError only for a connection that is already closed.
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    code = getattr(cause, "pgcode", None)
    if code is None:
        # No SQLSTATE: the client library could not talk to the server at all (refused,
        # reset, closed unexpectedly, or a FATAL reply while connecting).
        return True
    return code.startswith(CONNECTION_SQLSTATE_CLASS) or code in SHUTDOWN_SQLSTATES


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "unavailable", "detail": DETAIL}, status=503)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def _mark_request(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """Django is turning an exception into a 500 (raised outside the view, e.g. while a
    middleware loaded the session): note it if the database was the cause."""
    if request is not None and is_connection_failure(sys.exc_info()[1]):
        setattr(request, _MARK, True)


class DatabaseAvailabilityMiddleware:
    """Answer 503 + Retry-After when the database connection failed. First in MIDDLEWARE, so
    it also sees failures in the middleware below it (session, user, login checks)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        got_request_exception.connect(_mark_request, dispatch_uid="portfolio.availability")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _MARK, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_connection_failure(exception):
            return None
        logger.warning("Database unavailable on %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
