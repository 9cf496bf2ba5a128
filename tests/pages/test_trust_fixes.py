"""Small things that cost trust (issue 16, item 7): a decision with no default, disabled
logins kept out of owner pickers, plurals and numbers, the conflict view in words, forms
shown only to those who may submit them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from analytics import dashboard
from analytics.models import SignalKind
from funding import services as funding_services
from funding.models import InvestmentRequest
from portfolio import text
from portfolio.errors import ValidationFailed
from portfolio.models import PortfolioSettings
from products.models import Product
from reviews import services as review_services
from reviews.models import ActionItem, Decision, Review
from tests.conftest import api_as
from tests.metrics.factories import MetricFactory
from tests.pages.conftest import HTMX
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_person(db):
    """Someone still employed whose login was disabled."""
    return PersonFactory(name="Lou Locked", user=UserFactory(username="lou", is_active=False))


@pytest.fixture
def review(leader, product, other_product) -> Review:
    cycle = review_services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle
    return Review.objects.get(cycle=cycle, unit_id=product.unit_id)


# --- the decision has no default ----------------------------------------------------------------


def test_decision_select_starts_empty(leader_client, review):
    html = leader_client.get(
        reverse("review-meeting-review", args=[review.cycle_id, review.pk])
    ).content.decode()
    select = html[html.index(f'id="decision{review.pk}_kind"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>Choose...</option>' in select
    assert "selected" not in select.replace('<option value="" selected>', "")


def test_decision_without_a_choice_is_a_form_error_on_the_field(leader_client, review):
    response = leader_client.post(
        reverse("review-decision-create", args=[review.pk]),
        {"from": "meeting", "rationale": "Half typed"},
        headers=HTMX,
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a decision" in html
    assert "has-errors" in html
    assert not Decision.objects.exists()


def test_api_decision_needs_a_kind(review, leader):
    response = api_as(leader).post(
        "/api/v1/decisions/", {"review": review.pk, "rationale": "No kind"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


# --- disabled logins are not offered as owners ---------------------------------------------------


def test_action_owner_picker_leaves_out_disabled_logins(leader_client, review, locked_person):
    html = leader_client.get(
        reverse("review-meeting-review", args=[review.cycle_id, review.pk])
    ).content.decode()
    assert "Olivia Owner" in html
    assert "Lou Locked" not in html
    response = leader_client.post(
        reverse("review-action-create", args=[review.pk]),
        {"title": "Ask Lou", "owner": str(locked_person.pk)},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_product_owner_picker_leaves_out_disabled_logins(leader_client, product, locked_person):
    url = reverse("product-edit", args=[product.slug])
    assert "Lou Locked" not in leader_client.get(url).content.decode()
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "Expense claims",
            "kind": "service",
            "lifecycle_stage": "introduction",
            "criticality": "medium",
            "management_model": "product",
            "owner": locked_person.pk,
        },
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert not Product.objects.filter(name="Expense claims").exists()


def test_cluster_owner_picker_leaves_out_disabled_logins(leader_client, cluster, locked_person):
    url = reverse("cluster-edit", args=[cluster.slug])
    html = leader_client.get(url).content.decode()
    assert "Lou Locked" not in html
    response = leader_client.post(
        url, {"name": cluster.name, "slug": cluster.slug, "owner": locked_person.pk}
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.unit.owner_id != locked_person.pk


# --- plurals and numbers: one helper --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (5100, None, "5,100"),
        (Decimal("100000.00"), 2, "100,000.00"),
        ("12500.5", 2, "12,500.50"),
        (Decimal("1234.5"), None, "1,234.5"),
        (7, None, "7"),
        (None, None, ""),
        ("n/a", None, "n/a"),
    ],
)
def test_number(value, places, shown):
    assert text.number(value, places) == shown


def test_money_and_counted():
    assert text.money(100000) == "100,000.00"
    assert text.money("0.5") == "0.50"
    assert text.counted(1, "unit now has", "units now have") == "1 unit now has"
    assert text.counted(2, "unit now has", "units now have") == "2 units now have"
    assert text.counted(1, "finished item") == "1 finished item"
    assert text.counted(0, "finished item") == "0 finished items"
    assert text.counted(5100, "row") == "5,100 rows"


def test_template_filters():
    rendered = Template(
        '{{ a|counted:"unit,units" }}|{{ b|counted:"item" }}|{{ c|number }}|{{ d|money }}'
    ).render(Context({"a": 1, "b": 2, "c": 5100, "d": Decimal("100000")}))
    assert rendered == "1 unit|2 items|5,100|100,000.00"


def test_departing_an_owner_of_one_unit_says_1_unit_now_has(leader_client, owner_person, product):
    response = leader_client.post(
        reverse("person-depart", args=[owner_person.pk]), {"departed_on": "2026-01-31"}, follow=True
    )
    html = response.content.decode()
    assert "1 unit now has no accountable owner." in html
    assert "(s)" not in html


def test_dominance_evidence_counts_items_in_words():
    lines = dashboard.evidence_lines(
        SignalKind.DOMINANCE, {"member": "Payroll", "items": 1, "effort_days": 3, "total_days": 4}
    )
    assert lines[-1].endswith("over 1 finished item.")
    lines = dashboard.evidence_lines(SignalKind.DOMINANCE, {"items": 2})
    assert lines[-1].endswith("over 2 finished items.")


def test_upload_says_nothing_was_stored_once(owner_client, product):
    MetricFactory(product=product, key="availability")
    file = SimpleUploadedFile(
        "readings.csv",
        b"metric,time,value\npayroll/availability,2026-05-05T08:00:00Z,lots\n",
        content_type="text/csv",
    )
    html = owner_client.post(reverse("metrics-upload"), {"file": file}).content.decode()
    assert "1 row is invalid; nothing was stored." in html
    assert html.lower().count("nothing was stored") == 1


def test_product_users_are_counted_with_separators(viewer_client, product):
    Product.objects.filter(pk=product.pk).update(user_count=5100)
    html = viewer_client.get(reverse("product-detail", args=[product.slug])).content.decode()
    assert "About 5,100 people" in html


def test_governance_threshold_is_shown_as_money(leader_client):
    PortfolioSettings.objects.update(governance_threshold=Decimal("100000.00"), currency="EUR")
    html = leader_client.get(reverse("settings")).content.decode()
    assert "Requests above 100,000.00 EUR need a leader" in html
    assert "100000.00 EUR" not in html


def test_settings_take_the_threshold_as_money(leader_client):
    html = leader_client.get(reverse("settings")).content.decode()
    form = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', html))
    form["governance_threshold"] = "250,000.00"
    response = leader_client.post(reverse("settings"), form)
    assert response.status_code in (200, 302), response.content.decode()[:300]
    assert PortfolioSettings.load().governance_threshold == Decimal("250000.00")


# --- write forms only for those who may write -------------------------------------------------


def _write_pages(product, metric, review) -> dict[str, tuple[str, str]]:
    """Page -> (its URL, a piece of the write form or button only a writer may see)."""
    return {
        "readings upload": (reverse("metrics-upload"), 'enctype="multipart/form-data"'),
        "metric list": (reverse("metric-list"), f'href="{reverse("metrics-upload")}"'),
        "product metrics panel": (
            reverse("product-detail", args=[product.slug]),
            f'href="{reverse("metrics-upload")}"',
        ),
        "metric reading": (
            reverse("metric-detail", args=[metric.pk]),
            f'action="{reverse("metric-reading-create", args=[metric.pk])}"',
        ),
        "backlog": (
            reverse("backlog-detail", args=[product.unit_id]),
            f'action="{reverse("backlog-create", args=[product.unit_id])}',
        ),
        "funding panel": (
            reverse("funding-unit", args=[product.unit_id]),
            f'action="{reverse("funding-unit-request", args=[product.unit_id])}"',
        ),
        "review actions": (
            reverse("review-meeting-review", args=[review.cycle_id, review.pk]),
            f'action="{reverse("review-action-create", args=[review.pk])}"',
        ),
    }


@pytest.mark.parametrize(
    "page",
    [
        "readings upload",
        "metric list",
        "product metrics panel",
        "metric reading",
        "backlog",
        "funding panel",
        "review actions",
    ],
)
def test_write_forms_show_to_the_owner_and_not_to_the_viewer(
    page, viewer_client, owner_client, product, review
):
    metric = MetricFactory(product=product, key="availability")
    url, form = _write_pages(product, metric, review)[page]
    owner_page = owner_client.get(url)
    viewer_page = viewer_client.get(url)
    assert owner_page.status_code == viewer_page.status_code == 200
    assert form in owner_page.content.decode()
    assert form not in viewer_page.content.decode()


# --- the metric a request should move belongs to the chosen component ---------------------------


@pytest.fixture
def two_components(cluster, owner):
    """A cluster of Payroll and Payslips (owned by Olivia), each with a metric."""
    payroll = ProductFactory(name="Payroll", slug="payroll", cluster=cluster)
    payslips = ProductFactory(name="Payslips", slug="payslips", cluster=cluster)
    return (
        payroll,
        payslips,
        MetricFactory(product=payroll, key="availability", name="Payroll uptime"),
        MetricFactory(product=payslips, key="errors", name="Payslip errors"),
    )


def _ask(client, component, metric):
    return client.post(
        reverse("funding-unit-request", args=[component.unit_id]),
        {
            "product": component.pk,
            "amount": "100",
            "purpose": "Faster runs",
            "metric": metric.pk,
            "expected_effect": "",
            "fiscal_year": timezone.localdate().year,
            "action": "draft",
        },
        headers=HTMX,
    )


def test_the_metric_options_follow_the_chosen_component(owner_client, cluster, two_components):
    payroll, payslips, uptime, errors = two_components
    html = owner_client.get(reverse("funding-unit", args=[cluster.unit.pk])).content.decode()
    select = html[html.index('name="metric"') :]
    select = select[: select.index("</select>")]
    assert 'data-follows="request_product"' in html
    assert f'value="{uptime.pk}" data-for="{payroll.pk}"' in select
    assert f'value="{errors.pk}" data-for="{payslips.pk}"' in select


def test_a_metric_of_another_component_is_refused(owner_client, two_components):
    payroll, payslips, uptime, errors = two_components
    response = _ask(owner_client, payroll, errors)
    assert response.status_code == 400
    assert "Pick a metric of Payroll, the component asked for." in response.content.decode()
    assert not InvestmentRequest.objects.exists()
    assert _ask(owner_client, payroll, uptime).status_code == 200
    assert InvestmentRequest.objects.get().metric == uptime


def test_the_service_refuses_the_mismatch_for_the_api_too(owner, two_components):
    payroll, payslips, uptime, errors = two_components
    with pytest.raises(ValidationFailed) as refused:
        funding_services.request_create(
            actor=owner, product=payroll, amount="100", purpose="x", metric=errors
        )
    assert "metric" in refused.value.errors
