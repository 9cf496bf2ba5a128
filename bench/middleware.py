"""X-Query-Count: how many SQL statements one request ran (bench settings only)."""

from __future__ import annotations

from django.db import connection


class QueryCountMiddleware:
    """Counts every statement the request sends through Django's default connection.

    It sits first in MIDDLEWARE, so the session, authentication, the view, the template and
    the session save are all inside the count. Connection health checks (CONN_HEALTH_CHECKS)
    do not pass through execute wrappers and are not counted.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response
