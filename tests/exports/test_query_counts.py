"""An export costs the same queries at any row count (Zulip's and NetBox's query-count rule)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.models import Reading
from tests.conftest import api_as
from tests.exports.helpers import content
from tests.metrics.factories import MetricFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _readings(metric, n: int) -> None:
    Reading.objects.bulk_create(
        Reading(metric=metric, taken_at=START + dt.timedelta(hours=i), value=-i, source="=x")
        for i in range(n)
    )


def _products(n: int) -> None:
    for _ in range(n):
        ExternalIdFactory(product=ProductFactory())


def _count(client, url: str, **headers) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
        body = content(response)  # a streamed answer reads the rows as it is sent
    assert response.status_code == 200
    return len(queries), body


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_readings_export_costs_the_same_queries_for_5_and_50_rows(
    fmt, viewer, client_as, product
):
    metric = MetricFactory(product=product)
    page = client_as(viewer)
    api = api_as(viewer)
    page_url = reverse("metric-detail", args=[metric.pk]) + f"?format={fmt}"
    api_url = f"/api/v1/metric-readings/?metric={metric.pk}&format={fmt}"

    _readings(metric, 5)
    small = (_count(page, page_url)[0], _count(api, api_url)[0])
    Reading.objects.filter(metric=metric).delete()
    _readings(metric, 50)
    large_page, page_body = _count(page, page_url)
    large_api, api_body = _count(api, api_url)

    assert (large_page, large_api) == small
    # Page: the session, the user, the metric with its status, the readings. API (its login
    # given): the readings, the visible metrics a subquery of that one query.
    assert small == (4, 1)
    assert page_body and api_body


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_product_export_costs_the_same_queries_for_5_and_50_products(fmt, viewer, client_as):
    page = client_as(viewer)
    api = api_as(viewer)
    page_url = reverse("product-list") + f"?format={fmt}"
    api_url = f"/api/v1/products/?format={fmt}"

    _products(5)
    small = (_count(page, page_url)[0], _count(api, api_url)[0])
    _products(45)
    large = (_count(page, page_url)[0], _count(api, api_url)[0])

    assert large == small
    # The rows, then dependencies and external ids once per chunk of 2,000 rows.
    assert small == (5, 3)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_cluster_export_from_its_serializer_costs_the_same_queries_for_5_and_50(fmt, viewer):
    from tests.portfolio.factories import ClusterFactory, PersonFactory

    api = api_as(viewer)
    url = f"/api/v1/clusters/?format={fmt}"

    def clusters(n: int) -> None:
        for _ in range(n):
            ProductFactory(cluster=ClusterFactory(owner=PersonFactory()))

    clusters(5)
    small, _ = _count(api, url)
    clusters(45)
    large, body = _count(api, url)
    assert large == small == 2  # the clusters with their owners, then their members
    assert body
