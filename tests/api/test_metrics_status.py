"""/api/v1/metric-status/: the health of each product, rolled up from its metrics now."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolio.models import PortfolioSettings
from tests.api.conftest import client_for
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api-metric-status-list")


def detail(slug: str) -> str:
    return reverse("api-metric-status-detail", args=[slug])


def metric(product, key: str, value: float | None, ago=dt.timedelta(hours=1), **fields):
    m = MetricFactory(product=product, key=key, name=key.title(), **fields)
    if value is not None:
        m.last_value = value
        m.last_read_at = timezone.now() - ago
        m.save(update_fields=["last_value", "last_read_at"])
    return m


@pytest.fixture
def payroll_metrics(product):
    """Payroll: one green, one amber, one red, one stale; operations and support only."""
    return [
        metric(product, "availability", 99.95),
        metric(product, "errors", 99.2),
        metric(product, "latency", 98.0),
        metric(product, "tickets", 99.95, dt.timedelta(days=5), dimension="support"),
    ]


def test_one_product_rolls_up_to_the_worst_with_counts_and_coverage(as_viewer, payroll_metrics):
    response = as_viewer.get(detail("payroll"))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["product"] == "payroll"
    assert body["product_name"] == "Payroll"
    assert body["unit"] == payroll_metrics[0].product.unit_id
    assert body["status"] == "red"  # the worst wins
    assert body["counts"] == {"green": 1, "no_data": 0, "stale": 1, "amber": 1, "red": 1}
    assert body["coverage"] == {
        "count": 4,
        "minimum": 3,
        "maximum": 5,
        "ok": False,
        "missing": ["improvement"],
        "problems": ["No metric covers improvement."],
    }
    assert [(m["key"], m["status"]) for m in body["metrics"]] == [
        ("availability", "green"),
        ("errors", "amber"),
        ("latency", "red"),
        ("tickets", "stale"),
    ]
    first = body["metrics"][0]
    assert first["ref"] == "payroll/availability"
    assert first["last_value"] == 99.95
    assert first["dimension"] == "operations"


@pytest.mark.parametrize(
    "values, expected",
    [
        ([99.95, 99.95], "green"),
        ([99.95, None], "no_data"),  # no data is worse than green
        ([None, ("stale",)], "stale"),  # stale is worse than no data
        ([("stale",), 99.2], "amber"),  # amber is worse than stale
    ],
)
def test_roll_up_order(as_viewer, product, values, expected):
    for i, value in enumerate(values):
        if isinstance(value, tuple):
            metric(product, f"m{i}", 99.95, dt.timedelta(days=3))
        else:
            metric(product, f"m{i}", value)
    assert as_viewer.get(detail("payroll")).json()["status"] == expected


def test_a_product_without_metrics_has_no_status(as_viewer, product):
    body = as_viewer.get(detail("payroll")).json()
    assert body["status"] is None
    assert body["metrics"] == []
    assert body["counts"] == {"green": 0, "no_data": 0, "stale": 0, "amber": 0, "red": 0}
    assert body["coverage"]["count"] == 0
    assert body["coverage"]["ok"] is False
    assert body["coverage"]["missing"] == ["improvement", "operations", "support"]


def test_coverage_is_ok_with_every_dimension_and_a_count_in_range(as_viewer, product):
    metric(product, "availability", 99.95)
    metric(product, "tickets", 10, dimension="support", better="lower", target=20, warning=40,
           critical=60)  # fmt: skip
    metric(product, "adoption", 85, dimension="improvement", level="business", target=80,
           warning=60, critical=40)  # fmt: skip
    body = as_viewer.get(detail("payroll")).json()
    assert body["status"] == "green"
    assert body["coverage"]["ok"] is True
    assert body["coverage"]["missing"] == []
    assert body["coverage"]["problems"] == []


def test_stale_multiple_comes_from_the_settings(as_viewer, product):
    metric(product, "availability", 99.95, dt.timedelta(hours=36))  # daily metric
    assert as_viewer.get(detail("payroll")).json()["status"] == "green"  # 36h < 2 days
    settings = PortfolioSettings.load()
    settings.stale_interval_multiple = 1
    settings.save()
    assert as_viewer.get(detail("payroll")).json()["status"] == "stale"


def test_list_has_one_entry_per_product_and_filters(
    as_viewer, payroll_metrics, other_product, cluster
):
    onboarding = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    metric(onboarding, "availability", 99.95)

    def got(query: str = "") -> list[tuple[str, str | None]]:
        response = as_viewer.get(LIST + query)
        assert response.status_code == 200, response.json()
        return [(e["product"], e["status"]) for e in response.json()["results"]]

    assert got() == [("intranet", None), ("onboarding", "green"), ("payroll", "red")]
    assert got("?status=red") == [("payroll", "red")]
    assert got("?status=green&status=none") == [("intranet", None), ("onboarding", "green")]
    assert got("?product=payroll") == [("payroll", "red")]
    assert got(f"?product={other_product.pk}") == [("intranet", None)]
    assert got(f"?unit={cluster.unit.pk}") == [("onboarding", "green")]
    entries = as_viewer.get(LIST).json()["results"]
    assert entries[2] == as_viewer.get(detail("payroll")).json()


@pytest.mark.parametrize(
    "query, field",
    [("?status=purple", "status"), ("?unit=abc", "unit"), ("?product=a%20b", "product")],
)
def test_bad_filters_answer_400_naming_them(as_viewer, query, field):
    response = as_viewer.get(LIST + query)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_unknown_product_is_404(as_viewer):
    assert as_viewer.get(detail("nowhere")).status_code == 404


def test_anonymous_is_refused(api, product):
    assert api.get(LIST).status_code == 401
    assert api.get(detail("payroll")).status_code == 401


@pytest.mark.parametrize("size", [3, 30])
def test_list_query_count_is_flat(size, viewer, django_assert_num_queries):
    # given products with several metrics each
    for i in range(size):
        product = ProductFactory(owner=PersonFactory())
        metric(product, "up", 99.95)
        metric(product, "down", 90.0 if i % 2 else None, dimension="support")
    client = client_for(viewer)
    client.get(LIST)  # warm up: session, settings row

    # then: count, the products page (roll-up inside), their metrics, the settings
    with django_assert_num_queries(4):
        response = client.get(LIST, {"page_size": 100, "status": ["red", "no_data"]})
    assert len(response.json()["results"]) == size
