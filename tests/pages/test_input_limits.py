"""The page forms refuse what their API refuses, with the field named (a 400 with the form,
never a 500), and store nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backlog.models import BacklogItem
from metrics.models import Reading
from reviews.models import ReviewCycle
from tests.backlog.factories import make_backlog
from tests.metrics.factories import MetricFactory
from tests.pages.conftest import HTMX

pytestmark = pytest.mark.django_db


def order(product) -> list[int]:
    return list(
        BacklogItem.objects.filter(unit_id=product.unit_id)
        .order_by("rank")
        .values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"position": "99999999999999999999999"}, "position"),
        ({"position": str(2**31)}, "position"),
        ({"before": "99999999999999999999999"}, "before"),
        ({"after": str(2**63)}, "after"),
    ],
)
def test_a_page_move_past_the_apis_bounds_is_400_and_moves_nothing(
    owner_client, product, data, field
):
    items = make_backlog(product, 3)
    before = order(product)

    response = owner_client.post(reverse("backlog-move", args=[items[2].pk]), data, headers=HTMX)

    assert response.status_code == 400
    assert "less than or equal to" in response.content.decode()
    assert field in response.context["form"].errors
    assert order(product) == before


def test_the_bottom_button_still_moves_to_the_bottom(owner_client, product):
    a, b, c = make_backlog(product, 3)
    response = owner_client.post(reverse("backlog-move", args=[a.pk]), {"position": "bottom"})
    assert response.status_code == 302
    assert order(product) == [b.pk, c.pk, a.pk]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"starts_on": "0001-01-01", "ends_on": "9999-12-31"}, "starts_on", "1900-01-01"),
        ({"starts_on": "2030-01-07", "ends_on": "1899-12-31"}, "ends_on", "1900-01-01"),
        ({"starts_on": "2030-03-01", "ends_on": "2030-01-07"}, "ends_on", "Must not be before"),
        ({"starts_on": "2030-01-01", "ends_on": "2031-03-01"}, "ends_on", "at most a year"),
        ({"starts_on": "2035-01-07"}, "starts_on", "within a year of its quarter"),
    ],
)
def test_the_schedule_page_refuses_what_the_api_refuses(leader_client, data, field, words):
    body = {"year": 2030, "quarter": 1, **data}

    page = leader_client.post(reverse("review-cycle-schedule"), body, headers=HTMX)
    assert page.status_code == 400
    assert any(words in m for m in page.context["form"].errors[field])

    api = leader_client.post(
        reverse("api-review-cycle-list"), body, content_type="application/json"
    )
    assert api.status_code == 400
    assert any(words in m for m in api.json()["errors"][field])
    assert not ReviewCycle.objects.exists()


def test_a_csv_row_outside_the_date_range_is_named_and_nothing_is_stored(owner_client, product):
    MetricFactory(product=product, key="availability")
    text = (
        "metric,time,value\n"
        "payroll/availability,2026-05-04T08:00:00Z,99.93\n"
        "payroll/availability,0001-01-01T00:00:00+14:00,99.1\n"
    )
    file = SimpleUploadedFile("readings.csv", text.encode(), content_type="text/csv")

    response = owner_client.post(reverse("metrics-upload"), {"file": file}, headers=HTMX)

    assert response.status_code == 400
    bad = response.content.decode().split('id="line-3"')[1].split("</tr>")[0]
    assert "time" in bad and "Give a date between 1900-01-01 and 9999-12-31." in bad
    assert not Reading.objects.exists()


def test_a_typed_reading_in_year_1_is_refused(owner_client, product):
    metric = MetricFactory(product=product, key="availability")
    url = reverse("metric-reading-create", args=[metric.pk])
    response = owner_client.post(
        url, {"time": "0001-01-01T00:00", "value": "1", "source": "manual"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "Give a date between 1900-01-01" in response.content.decode()
    assert not Reading.objects.exists()


def test_a_page_edit_with_a_version_past_the_apis_bound_is_400(owner_client, product):
    (item,) = make_backlog(product, 1)
    data = {
        "title": "Renamed",
        "product": item.product_id,
        "type": item.type,
        "dimension": item.dimension,
        "status": item.status,
        "estimate": "",
        "source": item.source,
        "description": "",
        "version": "99999999999999999999",
    }

    response = owner_client.post(reverse("backlog-edit", args=[item.pk]), data, headers=HTMX)

    assert response.status_code == 400
    assert "version" in response.context["form"].errors
    item.refresh_from_db()
    assert item.title != "Renamed" and item.version == 1


def test_the_decision_and_notes_limits_are_the_apis():
    from reviews.api.serializers import DecisionInputSerializer, ReviewCloseSerializer
    from reviews.forms import DecisionForm, ReviewCloseForm

    rationale = DecisionInputSerializer().fields["rationale"].max_length
    summary = ReviewCloseSerializer().fields["summary"].max_length
    assert DecisionForm().fields["rationale"].max_length == rationale
    assert ReviewCloseForm().fields["summary"].max_length == summary
