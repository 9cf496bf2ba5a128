"""/api/v1/metrics/: definitions through the services, status computed in the list query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics.catalogue import BY_KEY, TEMPLATES
from metrics.models import Metric
from portfolio.models import PortfolioSettings
from tests.api.conftest import client_for
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api-metric-list")
TEMPLATES_URL = reverse("api-metric-templates")
NOW = timezone.now


def detail(metric) -> str:
    return reverse("api-metric-detail", args=[metric.pk])


def keys(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["key"] for row in response.json()["results"]]


def read(metric, value: float, ago: dt.timedelta = dt.timedelta(hours=1)) -> Metric:
    """Give a metric a latest reading (what readings_ingest maintains)."""
    metric.last_value = value
    metric.last_read_at = timezone.now() - ago
    metric.save(update_fields=["last_value", "last_read_at"])
    return metric


# --- create ------------------------------------------------------------------------------------


def test_create_from_a_template_with_overrides(as_owner, product):
    # when the owner creates availability from the catalogue, with a stricter warning line
    response = as_owner.post(
        LIST,
        {"product": "payroll", "template": "availability", "warning": 99.7},
        format="json",
    )

    # then the template's fields are stored, the override wins, and the body says so
    assert response.status_code == 201, response.json()
    body = response.json()
    template = BY_KEY["availability"]
    assert body["product"] == "payroll"
    assert body["product_name"] == "Payroll"
    assert body["key"] == "availability"
    assert body["ref"] == "payroll/availability"
    assert body["template"] == "availability"
    assert body["name"] == template.name
    assert body["unit"] == "%"
    assert body["better"] == "higher"
    assert body["target"] == 99.9
    assert body["warning"] == 99.7
    assert body["critical"] == 99.0
    assert body["expected_interval_seconds"] == 86400
    assert body["status"] == "no_data"
    assert body["last_value"] is None and body["last_read_at"] is None
    metric = Metric.objects.get(pk=body["id"])
    assert metric.product == product
    assert metric.warning == 99.7
    assert metric.expected_interval == dt.timedelta(days=1)


def test_create_custom_metric_by_product_id(as_leader, product):
    response = as_leader.post(
        LIST,
        {
            "product": product.pk,
            "name": "Payslips late",
            "unit": "payslips",
            "better": "lower",
            "target": 0,
            "warning": 5,
            "critical": 20,
            "dimension": "support",
            "level": "business",
            "expected_interval_seconds": 7 * 86400,
            "description": "Payslips that reached people after payday.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == "payslips-late"  # slugified from the name
    assert body["template"] == ""
    assert body["dimension"] == "support" and body["level"] == "business"
    assert body["expected_interval_seconds"] == 604800
    assert Metric.objects.get(pk=body["id"]).expected_interval == dt.timedelta(weeks=1)


def test_custom_metric_needs_name_unit_and_target(as_owner, product):
    response = as_owner.post(LIST, {"product": "payroll", "key": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "unit", "target"}
    assert not Metric.objects.exists()


@pytest.mark.parametrize(
    "fields, field",
    [
        # higher is better: warning above the target is on the wrong side
        ({"warning": 99.95}, "warning"),
        # critical above the warning line
        ({"warning": 99.5, "critical": 99.7}, "critical"),
        ({"target": "NaN"}, "target"),
        ({"target": True}, "target"),
        ({"expected_interval_seconds": 59}, "expected_interval_seconds"),
        ({"key": "not a slug"}, "key"),
        ({"template": "nope"}, "template"),
        ({"better": "sideways"}, "better"),
    ],
)
def test_create_refuses_bad_fields_naming_them(as_owner, product, fields, field):
    response = as_owner.post(
        LIST, {"product": "payroll", "template": "availability", **fields}, format="json"
    )
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert not Metric.objects.exists()


def test_create_refuses_a_key_taken_on_the_product(as_owner, product):
    MetricFactory(product=product, key="availability")
    response = as_owner.post(
        LIST, {"product": "payroll", "template": "availability"}, format="json"
    )
    assert response.status_code == 400
    assert "key" in response.json()["errors"]


def test_unknown_product_names_the_field(as_leader, db):
    response = as_leader.post(
        LIST, {"product": "nowhere", "template": "availability"}, format="json"
    )
    assert response.status_code == 400
    assert "product" in response.json()["errors"]


@pytest.mark.parametrize("who", ["viewer", "other_owner"])
def test_create_is_refused_to_others(request, product, who):
    client = client_for(request.getfixturevalue(who))
    response = client.post(LIST, {"product": "payroll", "template": "mttr"}, format="json")
    assert response.status_code == 403
    assert response.json()["rule"] == "unit_owner_or_leader"
    assert not Metric.objects.exists()


# --- read and list -----------------------------------------------------------------------------


def test_list_and_retrieve_agree_and_carry_status(as_viewer, product, other_product):
    green = read(MetricFactory(product=product, key="up", name="A up"), 99.95)
    amber = read(MetricFactory(product=product, key="amber", name="B amber"), 99.2)
    red = read(MetricFactory(product=product, key="red", name="C red"), 98.0)
    stale = read(MetricFactory(product=product, key="old", name="D old"), 99.95, dt.timedelta(3))
    empty = MetricFactory(product=other_product, key="empty", name="E empty")

    response = as_viewer.get(LIST)

    assert response.status_code == 200
    rows = response.json()["results"]
    # Intranet sorts before Payroll; metrics by name within a product
    assert [r["key"] for r in rows] == ["empty", "up", "amber", "red", "old"]
    by_key = {r["key"]: r["status"] for r in rows}
    assert by_key == {
        "up": "green",
        "amber": "amber",
        "red": "red",
        "old": "stale",
        "empty": "no_data",
    }
    for metric in (green, amber, red, stale, empty):
        one = as_viewer.get(detail(metric)).json()
        assert one == next(r for r in rows if r["id"] == metric.pk)
    assert rows[1]["last_value"] == 99.95
    assert rows[1]["ref"] == "payroll/up"


def test_list_filters(as_viewer, product, other_product, cluster):
    clustered = ProductFactory(name="Onboarding", slug="onboarding", cluster=cluster)
    read(MetricFactory(product=product, key="up", dimension="operations"), 99.95)
    read(MetricFactory(product=product, key="down", level="business"), 90)
    MetricFactory(product=other_product, key="tickets", dimension="support")
    MetricFactory(product=clustered, key="buddy", dimension="improvement")

    def got(query: str) -> list[str]:
        return sorted(keys(as_viewer.get(LIST + query)))

    assert got("?product=payroll") == ["down", "up"]
    assert got(f"?product={other_product.pk}") == ["tickets"]
    assert got(f"?unit={cluster.unit.pk}") == ["buddy"]
    assert got("?dimension=support") == ["tickets"]
    assert got("?level=business") == ["down"]
    assert got("?status=red") == ["down"]
    assert got("?status=green&status=no_data") == ["buddy", "tickets", "up"]
    assert got("?updated_since=2999-01-01T00:00Z") == []
    assert got("?product=nowhere") == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("?status=purple", "status"),
        ("?unit=x", "unit"),
        ("?level=strategic", "level"),
        ("?updated_since=yesterday", "updated_since"),
        ("?product=a%20b", "product"),
    ],
)
def test_bad_filters_answer_400_naming_them(as_viewer, query, field):
    response = as_viewer.get(LIST + query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_anonymous_is_refused(api):
    assert api.get(LIST).status_code == 401


def test_templates_list_the_catalogue_with_the_currency(as_viewer):
    settings = PortfolioSettings.load()
    settings.currency = "CHF"
    settings.save()
    response = as_viewer.get(TEMPLATES_URL)
    assert response.status_code == 200
    body = response.json()
    assert [t["key"] for t in body] == [t.key for t in TEMPLATES]
    cost = next(t for t in body if t["key"] == "cost-avoidance")
    assert cost["unit"] == "kCHF/quarter"
    assert cost["expected_interval_seconds"] == 91 * 86400
    response_time = next(t for t in body if t["key"] == "response-time")
    assert response_time == {
        "key": "response-time",
        "name": "Response time",
        "level": "operational",
        "dimension": "operations",
        "unit": "ms",
        "better": "lower",
        "target": 300.0,
        "warning": 500.0,
        "critical": 1000.0,
        "expected_interval_seconds": 3600,
        "description": BY_KEY["response-time"].description,
    }


@pytest.mark.parametrize("size", [3, 30])
def test_list_query_count_is_flat(size, viewer, django_assert_num_queries):
    # given metrics on many products, some read
    for i in range(size):
        metric = MetricFactory(product=ProductFactory(owner=PersonFactory()))
        if i % 2:
            read(metric, 99.0 + i / 100)
    client = client_for(viewer)
    client.get(LIST)  # warm up: session, content types

    # then the page costs the pagination count and the rows (status inside the row query)
    with django_assert_num_queries(2):
        response = client.get(LIST, {"page_size": 100, "status": ["green", "red", "no_data"]})
    assert response.status_code == 200


# --- update and delete -------------------------------------------------------------------------


def test_patch_changes_thresholds_and_the_status_follows(as_owner, product):
    metric = read(MetricFactory(product=product, key="up"), 99.2)  # amber
    response = as_owner.patch(detail(metric), {"warning": 99.0, "critical": 98.0}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["warning"] == 99.0 and body["critical"] == 98.0
    # 99.2 was below the old warning line (99.5), and is above the new one
    assert body["status"] == "green"
    metric.refresh_from_db()
    assert metric.warning == 99.0


def test_patch_with_thresholds_on_the_wrong_side_names_the_field(as_owner, product):
    metric = MetricFactory(product=product, key="up")
    response = as_owner.patch(detail(metric), {"critical": 99.8}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["critical"]
    metric.refresh_from_db()
    assert metric.critical == 99.0


def test_patch_cannot_move_a_metric_to_another_product(as_owner, product, other_product):
    metric = MetricFactory(product=product, key="up")
    response = as_owner.patch(detail(metric), {"product": "intranet"}, format="json")
    assert response.status_code == 400
    assert "product" in response.json()["errors"]
    metric.refresh_from_db()
    assert metric.product == product


def test_put_requires_the_core_fields_and_keeps_the_rest(as_owner, product):
    metric = MetricFactory(product=product, key="up", description="Kept")
    response = as_owner.put(detail(metric), {"name": "Uptime"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"unit", "target"}

    response = as_owner.put(
        detail(metric),
        {"name": "Uptime", "unit": "%", "target": 99.8, "expected_interval_seconds": 3600},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Uptime" and body["target"] == 99.8
    assert body["expected_interval_seconds"] == 3600
    assert body["description"] == "Kept"


def test_other_owner_may_not_change_or_delete(product, other_owner):
    metric = MetricFactory(product=product, key="up")
    client = client_for(other_owner)
    assert client.patch(detail(metric), {"name": "Mine"}, format="json").status_code == 403
    assert client.delete(detail(metric)).status_code == 403
    metric.refresh_from_db()
    assert metric.name != "Mine"


def test_delete_removes_the_metric(as_owner, product):
    metric = MetricFactory(product=product, key="up")
    assert as_owner.delete(detail(metric)).status_code == 204
    assert not Metric.objects.filter(pk=metric.pk).exists()
    assert as_owner.get(detail(metric)).status_code == 404


def test_unknown_or_malformed_id_is_404(as_viewer):
    assert as_viewer.get(reverse("api-metric-detail", args=[999999])).status_code == 404
    assert as_viewer.get(LIST + "abc/").status_code == 404
