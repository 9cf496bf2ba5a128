"""The bench's dashboard reference runs every read the page makes: the same statements as the
page, session and authentication aside, and the same reviews-due window."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.compute import run_snapshot
from analytics.dashboard import REVIEWS_DUE_DAYS
from bench.run import DASHBOARD_SQL
from bench.run import REVIEWS_DUE_DAYS as BENCH_REVIEWS_DUE_DAYS

AUTH_TABLES = ("django_session", "auth_user", "auth_group")


def test_the_reviews_due_window_is_the_pages():
    assert BENCH_REVIEWS_DUE_DAYS == REVIEWS_DUE_DAYS


@pytest.mark.django_db
def test_the_reference_has_one_statement_for_each_read_of_the_page(client, leader, product):
    run_snapshot()
    client.force_login(leader)
    client.get("/dashboard/")  # warm the caches the page keeps across requests
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/dashboard/")
    assert response.status_code == 200
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if not any(f'FROM "{table}"' in q["sql"] for table in AUTH_TABLES)
    ]
    assert len(DASHBOARD_SQL) == len(reads)
