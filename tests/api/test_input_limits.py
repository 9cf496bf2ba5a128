"""No 500 from input: bodies nested too deep or too large, and dates outside 1900-9999, are
answered in the error shape with the problem named, and nothing is stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from backlog.models import BacklogItem
from metrics.models import Reading
from portfolio.api.parsers import MAX_DEPTH, JSONParser, nesting_depth
from products.models import Product
from reviews.models import ReviewCycle
from tests.api.conftest import row
from tests.backlog.factories import make_backlog
from tests.metrics.factories import MetricFactory, ReadingFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("api-product-list")
PRODUCTS_BULK = reverse("api-product-bulk-upsert")
READINGS = reverse("api-metric-reading-list")
READINGS_BULK = reverse("api-metric-reading-bulk")
CYCLES = reverse("api-review-cycle-list")


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def move_url(item) -> str:
    return reverse("api-backlog-item-move", args=[item.pk])


def assert_body_error(response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert words in body["detail"]
    assert body["errors"] == {"body": [body["detail"]]}


# --- depth ----------------------------------------------------------------------------------


def test_nesting_depth_counts_without_recursion():
    assert nesting_depth(1) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    deep: list = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    assert nesting_depth(deep) == MAX_DEPTH + 1  # stops counting once it is too deep


@pytest.mark.parametrize("depth", [1_000, 100_000, MAX_DEPTH + 1])
def test_deep_json_on_the_bulk_upsert_is_400_and_stores_nothing(as_leader, depth):
    body = '{"rows": ' + nested(depth) + "}"
    response = as_leader.post(PRODUCTS_BULK, body, content_type="application/json")
    assert_body_error(response, 400, "too_deep", f"more than {MAX_DEPTH} levels")
    assert not Product.objects.exists()


def test_deep_json_on_product_create_is_400(as_leader):
    body = '{"name": "Deep", "description": ' + nested(1_000, '"x"') + "}"
    response = as_leader.post(PRODUCTS, body, content_type="application/json")
    assert_body_error(response, 400, "too_deep", "nested")
    assert not Product.objects.exists()


def test_deep_json_on_the_readings_batch_is_400(as_owner, product):
    metric = MetricFactory(product=product, key="availability")
    leaf = json.dumps({"metric": metric.pk, "time": "2026-01-05T08:00:00Z", "value": 1})
    body = '{"readings": ' + nested(1_000, leaf) + "}"
    response = as_owner.post(READINGS_BULK, body, content_type="application/json")
    assert_body_error(response, 400, "too_deep", "nested")
    assert not Reading.objects.exists()


def test_deep_json_on_a_backlog_move_is_400_and_moves_nothing(as_owner, product):
    a, b = make_backlog(product, 2)
    body = '{"position": ' + nested(1_000, "0") + "}"
    response = as_owner.post(move_url(b), body, content_type="application/json")
    assert_body_error(response, 400, "too_deep", "nested")
    assert list(BacklogItem.objects.order_by("rank").values_list("pk", flat=True)) == [a.pk, b.pk]


def test_a_body_at_the_depth_limit_still_reaches_the_view(as_leader):
    # 32 levels is allowed: the serializer, not the parser, refuses a list as a name.
    body = '{"name": ' + nested(MAX_DEPTH - 1, '"x"') + "}"
    response = as_leader.post(PRODUCTS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "name" in response.json()["errors"]


# --- size -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_on_an_ordinary_endpoint_is_a_json_413(as_leader, settings):
    body = json.dumps({"name": "Big", "description": "x" * (5 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = as_leader.post(PRODUCTS, body, content_type="application/json")
    assert_body_error(response, 413, "too_large", "2.5 MB")
    assert not Product.objects.exists()


def test_a_form_encoded_body_over_djangos_limit_is_a_json_413(as_leader):
    body = "name=Big&description=" + "x" * (5 * 1024 * 1024)
    response = as_leader.post(PRODUCTS, body, content_type="application/x-www-form-urlencoded")
    assert_body_error(response, 413, "too_large", "larger than")
    assert not Product.objects.exists()


def test_the_bulk_limit_stays_larger_than_the_ordinary_one(settings):
    from portfolio.api.parsers import BulkJSONParser

    assert BulkJSONParser().max_bytes() > JSONParser().max_bytes()
    assert JSONParser().max_bytes() == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time", ["0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59Z", "9999-12-31T23:00:00-08:00"]
)
def test_a_reading_outside_the_date_range_is_400_naming_time(as_owner, product, time):
    metric = MetricFactory(product=product, key="availability")
    body = {"readings": [{"metric": metric.pk, "time": time, "value": 1}]}
    response = as_owner.post(READINGS_BULK, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors == {"readings[0].time": [errors["readings[0].time"][0]]}
    assert errors["readings[0].time"][0].startswith("Give a date between 1900-01-01")
    assert not Reading.objects.exists()
    # the list stays readable
    assert as_owner.get(READINGS, {"metric": metric.pk}).status_code == 200


def test_a_reading_far_in_the_future_is_refused_with_its_rule(as_owner, product):
    metric = MetricFactory(product=product, key="availability")
    body = {"readings": [{"metric": metric.pk, "time": "9000-01-01T00:00:00Z", "value": 1}]}
    response = as_owner.post(READINGS_BULK, body, format="json")
    assert response.status_code == 400
    assert "in the future" in response.json()["errors"]["readings[0].time"][0]


@pytest.mark.parametrize("since", ["1899-12-31T00:00:00Z", "0001-01-01T00:10:00+05:00"])
def test_updated_since_outside_the_range_is_400_naming_it(as_viewer, product, since):
    metric = MetricFactory(product=product, key="availability")
    ReadingFactory(metric=metric)
    response = as_viewer.get(READINGS, {"updated_since": since})
    assert response.status_code == 400
    assert response.json()["errors"]["updated_since"] == [
        "Give a date between 1900-01-01 and 9999-12-31."
    ]


def test_a_review_date_filter_outside_the_range_is_400(as_viewer):
    response = as_viewer.get(reverse("api-review-list"), {"from": "1066-10-14"})
    assert response.status_code == 400
    assert "from" in response.json()["errors"]


def test_a_cycle_starting_in_year_1_is_400_naming_starts_on(as_leader):
    body = {"year": 2030, "quarter": 1, "starts_on": "0001-01-01", "ends_on": "9999-12-31"}
    response = as_leader.post(CYCLES, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "starts_on": ["Give a date between 1900-01-01 and 9999-12-31."]
    }
    assert not ReviewCycle.objects.exists()


def test_a_bulk_row_with_a_project_end_in_year_1_is_a_row_error(as_leader):
    rows = [row("CI-1", name="Old", management_model="project", project_end_date="0001-01-01")]
    response = as_leader.post(PRODUCTS_BULK, {"rows": rows}, format="json")
    assert response.status_code == 400
    messages = response.json()["errors"]["rows[0].project_end_date"]
    assert messages[0] == "Give a date between 1900-01-01 and 9999-12-31."
    assert not Product.objects.exists()


def test_a_product_with_a_project_end_in_year_1_is_400(as_leader):
    body = {"name": "Old", "management_model": "project", "project_end_date": "0001-01-01"}
    response = as_leader.post(PRODUCTS, body, format="json")
    assert response.status_code == 400
    assert "project_end_date" in response.json()["errors"]
    assert not Product.objects.exists()


def test_the_range_edges_are_inside():
    from portfolio.validation import date_range_error

    assert date_range_error(dt.date(1900, 1, 1)) is None
    assert date_range_error(dt.date(9999, 12, 31)) is None
    assert date_range_error(dt.datetime(1900, 1, 1, 0, 0, tzinfo=dt.UTC)) is None
    # the same instant written with an offset is judged by its UTC day
    plus_one = dt.timezone(dt.timedelta(hours=1))
    assert date_range_error(dt.datetime(1900, 1, 1, 0, 30, tzinfo=plus_one)) is not None
