"""Domain errors on pages are handled once: a refusal without a form to show it on reaches the
person through portfolio.middleware.DomainErrorMiddleware, with the error's own status (the
fragment for htmx, a page with a way back otherwise); a refusal of a form's input goes onto the
form through portfolio.pages.submit_form. No view outside the kernel catches DomainError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from backlog import services as backlog_services
from backlog.models import BacklogItem
from funding import services as funding_services
from metrics.models import Reading
from portfolio.errors import RuleViolation
from portfolio.middleware import rule_words
from products.models import Stage
from reviews import services as review_services
from reviews.models import Decision, Review
from tests.metrics.factories import MetricFactory
from tests.pages.conftest import HTMX
from tests.pages.domain_error_urls import RAISED

pytestmark = pytest.mark.django_db

REFERER = {"Referer": "http://testserver/somewhere/"}


def is_fragment(html: str) -> bool:
    return "<html" not in html and html.lstrip().startswith("<div")


# --- the middleware, on views that only raise --------------------------------------------------


@pytest.mark.urls("tests.pages.domain_error_urls")
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid", 400),
        ("forbidden", 403),
        ("not_found", 404),
        ("rule_violation", 409),
        ("stale_version", 412),
    ],
)
def test_each_domain_error_becomes_its_own_status(viewer_client, code, status):
    error = RAISED[code]

    # an htmx swap gets the fragment alone
    swapped = viewer_client.get(f"/page/{code}/", headers={**HTMX, **REFERER})
    assert swapped.status_code == status
    html = swapped.content.decode()
    assert is_fragment(html) and 'role="alert"' in html
    assert error.message in html
    assert "HX-Request" in swapped["Vary"]

    # a plain request gets a whole page with the message and a way back where it came from
    page = viewer_client.get(f"/page/{code}/", headers=REFERER)
    assert page.status_code == status
    html = page.content.decode()
    assert "<html" in html and "That was not done" in html
    assert error.message in html
    assert '<a href="http://testserver/somewhere/">Back</a>' in html
    if error.rule:
        assert f"<code>{error.rule}</code>" in html and rule_words(error.rule) in html


@pytest.mark.urls("tests.pages.domain_error_urls")
def test_every_refused_field_is_named(viewer_client):
    html = viewer_client.get("/page/invalid/").content.decode()
    assert "Amount: Must be positive." in html and "Purpose: Say what it is for." in html


@pytest.mark.urls("tests.pages.domain_error_urls")
def test_a_way_back_never_leads_off_site(viewer_client):
    html = viewer_client.get(
        "/page/rule_violation/", headers={"Referer": "https://evil.example/phish"}
    ).content.decode()
    assert "evil.example" not in html and '<a href="/">Back</a>' in html


@pytest.mark.urls("tests.pages.domain_error_urls")
def test_a_boosted_link_gets_the_whole_page(viewer_client):
    response = viewer_client.get("/page/forbidden/", headers={**HTMX, "HX-Boosted": "true"})
    assert response.status_code == 403 and "<html" in response.content.decode()


@pytest.mark.urls("tests.pages.domain_error_urls")
def test_anything_else_is_a_bug_and_is_not_dressed_up(viewer_client):
    with pytest.raises(ZeroDivisionError):
        viewer_client.get("/broken/")


@pytest.mark.urls("tests.pages.domain_error_urls")
def test_the_api_is_left_to_its_own_exception_handler(viewer_client):
    # a DRF view answers its refusal in JSON, untouched
    response = viewer_client.get("/api/v1/refusing/")
    assert response.status_code == 409
    assert response.json() == {
        "code": "rule_violation",
        "detail": "Retired is retired.",
        "rule": "retired_is_final",
    }
    # and under /api/ the middleware never renders a page, even for a view that is not DRF's
    with pytest.raises(RuleViolation):
        viewer_client.get("/api/v1/plain/rule_violation/")


def test_rule_words():
    assert rule_words("forward_one_stage_at_a_time") == "Forward one stage at a time"
    assert rule_words(None) == ""


# --- real pages: refusals without a form go through the middleware ----------------------------


@pytest.fixture
def cycle(leader, product, other_product):
    return review_services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle


def test_closing_a_cycle_with_open_reviews_is_refused_with_the_rule(leader_client, cycle):
    url = reverse("review-cycle-close", args=[cycle.pk])
    referer = {"Referer": f"http://testserver{cycle.get_absolute_url()}"}

    # htmx: the notice alone, which the page swaps into #cycle-errors
    swapped = leader_client.post(url, headers={**HTMX, **referer})
    assert swapped.status_code == 409
    html = swapped.content.decode()
    assert is_fragment(html)
    assert "2 reviews of Q1 2030 are still open; close them first." in html
    assert "Reviews open" in html and "<code>reviews_open</code>" in html

    # without JavaScript: a page saying why, with the way back to the cycle
    page = leader_client.post(url, headers=referer)
    assert page.status_code == 409
    html = page.content.decode()
    assert "<html" in html and "still open; close them first." in html
    assert f'<a href="http://testserver{cycle.get_absolute_url()}">Back</a>' in html
    cycle.refresh_from_db()
    assert cycle.status != "closed"


def test_marking_a_missing_migration_plan_done_is_a_rule_violation(owner_client, product):
    url = reverse("product-plan-done", args=[product.slug])
    swapped = owner_client.post(url, headers=HTMX)
    assert swapped.status_code == 409
    assert is_fragment(swapped.content.decode())
    assert "Payroll has no migration plan." in swapped.content.decode()
    page = owner_client.post(url)
    assert page.status_code == 409
    assert "<html" in page.content.decode() and "No migration plan" in page.content.decode()


def test_withdrawing_someone_elses_request_is_forbidden(viewer_client, owner, product):
    draft = funding_services.request_create(
        actor=owner, product=product, amount="100", purpose="Archive", submit=True
    )
    url = reverse("funding-request-withdraw", args=[draft.pk])
    page = viewer_client.post(url)
    assert page.status_code == 403
    html = page.content.decode()
    assert "<html" in html
    assert "Only the requester, the unit&#x27;s owner or a leader can withdraw it." in html
    assert "Unit owner or leader" in html
    swapped = viewer_client.post(url, headers=HTMX)
    assert swapped.status_code == 403 and is_fragment(swapped.content.decode())
    draft.refresh_from_db()
    assert draft.status == "submitted"


# --- real pages: refusals of a form's input land on the form (submit_form) ---------------------


def test_moving_an_item_of_a_retired_component_is_refused_on_the_form(owner_client, owner, product):
    item = backlog_services.backlog_item_create(actor=owner, product=product, title="A")
    backlog_services.backlog_item_create(actor=owner, product=product, title="B")
    product.lifecycle_stage = Stage.RETIRED
    product.save()
    url = reverse("backlog-move", args=[item.pk])

    swapped = owner_client.post(url, {"position": "bottom"}, headers=HTMX)
    assert swapped.status_code == 409
    html = swapped.content.decode()
    assert is_fragment(html) and "That change was not made." in html
    assert "Payroll is retired; its backlog is frozen." in html and "backlog_frozen" in html

    page = owner_client.post(url, {"position": "bottom"})
    assert page.status_code == 409
    assert "<html" in page.content.decode() and "backlog_frozen" in page.content.decode()
    ranked = BacklogItem.objects.filter(unit_id=product.unit_id).order_by("rank")
    assert [i.title for i in ranked] == ["A", "B"]


def test_removing_a_decision_of_a_closed_review_is_refused_beside_the_list(
    leader_client, leader, cycle, product
):
    review = Review.objects.get(unit_id=product.unit_id)
    decision = review_services.decision_record(
        actor=leader, review=review, kind="continue", rationale="Steady."
    )
    review_services.review_close(actor=leader, review=review)
    url = reverse("review-decision-delete", args=[decision.pk])

    swapped = leader_client.post(url, headers=HTMX)
    assert swapped.status_code == 409
    html = swapped.content.decode()
    assert html.lstrip().startswith(f'<section class="record-block" id="decisions-{review.pk}"')
    assert "its record can no longer change." in html and "review_closed" in html
    # the form beside the list shows the refusal, not errors of fields nobody filled in
    assert "This field is required." not in html

    page = leader_client.post(url)
    assert page.status_code == 409
    html = page.content.decode()
    assert "<html" in html and "review_closed" in html and "This field is required." not in html
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_uploading_readings_of_someone_elses_metric_is_forbidden_on_the_form(
    owner_client, product, other_product
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    MetricFactory(product=other_product, key="availability")

    def upload(**extra):
        text = b"metric,time,value\nintranet/availability,2026-05-04T08:00:00Z,1\n"
        file = SimpleUploadedFile("readings.csv", text, content_type="text/csv")
        return owner_client.post(reverse("metrics-upload"), {"file": file}, **extra)

    swapped = upload(headers=HTMX)
    assert swapped.status_code == 403
    html = swapped.content.decode()
    assert '<div id="upload-result">' in html and "<html" not in html
    assert "can record readings of intranet/availability" in html
    assert "unit_owner_or_leader" in html and "Nothing was stored." in html

    page = upload()
    assert page.status_code == 403
    assert "<html" in page.content.decode() and "intranet/availability" in page.content.decode()
    assert not Reading.objects.exists()


# --- so that the try/except blocks cannot come back --------------------------------------------

CATCHES_DOMAIN_ERROR = re.compile(r"except\s*\(?[^:\n]*\bDomainError\b")
NOT_APPLICATION_CODE = {"portfolio", "tests", ".venv", "node_modules", "static", "templates"}


def test_no_module_outside_the_kernel_catches_domain_error():
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in root.rglob("*.py"):
        top = path.relative_to(root).parts[0]
        if top in NOT_APPLICATION_CODE or top.startswith("."):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if CATCHES_DOMAIN_ERROR.search(line):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == [], (
        "Let a DomainError rise (DomainErrorMiddleware answers it) or go through "
        "portfolio.pages.submit_form:\n" + "\n".join(offenders)
    )


def test_the_guard_recognises_a_catch():
    assert CATCHES_DOMAIN_ERROR.search("    except DomainError as exc:")
    assert CATCHES_DOMAIN_ERROR.search("    except (ValueError, DomainError):")
    assert not CATCHES_DOMAIN_ERROR.search("    except StaleVersion as exc:")
