"""metrics.W001: readings stored outside the date range before input checked it are found."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from metrics.checks import readings_in_date_range
from metrics.models import Reading
from tests.metrics.factories import ReadingFactory

pytestmark = pytest.mark.django_db


def test_a_reading_stored_as_a_year_bc_is_reported(product):
    good = ReadingFactory(metric__product=product)
    bad = ReadingFactory(metric=good.metric, taken_at=good.taken_at - dt.timedelta(hours=1))
    assert readings_in_date_range(databases=["default"]) == []

    # given a row an older version let in (what 0001-01-01T00:00:00+14:00 became: 1 BC)
    with connection.cursor() as cursor:
        table = Reading._meta.db_table
        cursor.execute(
            f"UPDATE {table} SET taken_at = '0001-01-01 00:00:00+14' WHERE id = %s", [bad.pk]
        )

    (warning,) = readings_in_date_range(databases=["default"])
    assert warning.id == "metrics.W001"
    assert warning.msg.startswith("1 metric reading in database 'default' is dated outside")


def test_without_databases_nothing_is_queried(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert readings_in_date_range() == []
