import re

import pytest
from playwright.sync_api import Page, expect

from reviews import services
from reviews.models import Decision
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser


def test_leader_holds_a_short_meeting(page: Page, live_server, transactional_db):
    # given a cycle with two reviews, on two days
    leader = UserFactory(username="lena", leader=True)
    ProductFactory(name="Payroll", owner=PersonFactory(name="Olivia Owner"))
    ProductFactory(name="Intranet", owner=PersonFactory(name="Oscar Other"))
    cycle = services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle
    first, second = cycle.reviews.in_agenda_order().select_related("unit__product")

    # when the leader signs in and opens meeting mode
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{live_server.url}/reviews/cycles/{cycle.pk}/meeting/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=first.unit.name, level=1)).to_be_visible()
    expect(page.locator(".meeting-count")).to_have_text("1 of 2")

    # and records a decision inline
    page.locator(f"#decision{first.pk}_kind").select_option("invest")
    page.locator(f"#decision{first.pk}_rationale").fill("Adoption doubled this quarter.")
    with page.expect_response(lambda r: "/decisions/" in r.url) as recorded:
        page.get_by_role("button", name="Record the decision").click()
    assert recorded.value.status == 200
    expect(page.locator(f"#decisions-{first.pk} .rationale")).to_have_text(
        "Adoption doubled this quarter."
    )

    # and presses "n" for the next review
    page.locator(f"#decisions-{first.pk} h2").click()
    page.keyboard.press("n")

    # then the second review is on screen, and the first one's decision is stored
    expect(page.get_by_role("heading", name=second.unit.name, level=1)).to_be_visible()
    expect(page.locator(".meeting-count")).to_have_text("2 of 2")
    decision = Decision.objects.get()
    assert decision.review_id == first.pk and decision.kind == "invest"

    page.screenshot(path="/tmp/meeting-second.png")

    # and the left arrow goes back, where the decision is listed
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("heading", name=first.unit.name, level=1)).to_be_visible()
    expect(page.locator(f"#decisions-{first.pk}")).to_contain_text("Adoption doubled")


def test_a_half_typed_decision_is_kept_per_review_until_saved_or_discarded(
    page: Page, live_server, transactional_db
):
    # given a cycle with two reviews, in meeting mode
    leader = UserFactory(username="lena", leader=True)
    ProductFactory(name="Payroll", owner=PersonFactory(name="Olivia Owner"))
    ProductFactory(name="Intranet", owner=PersonFactory(name="Oscar Other"))
    cycle = services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle
    first, second = cycle.reviews.in_agenda_order().select_related("unit__product")
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{live_server.url}/reviews/cycles/{cycle.pk}/meeting/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=first.unit.name, level=1)).to_be_visible()
    kind, why = (
        page.locator(f"#decision{first.pk}_kind"),
        page.locator(f"#decision{first.pk}_rationale"),
    )
    expect(kind).to_have_value("")  # no decision is taken by default

    # when she starts a decision and moves on to the next review without saving it
    kind.select_option("optimise")
    why.fill("Costs went up; half typed")
    expect(page.locator(".draft-note")).to_contain_text("Draft, not saved yet")
    page.locator(".meeting-nav a[rel=next]").click()
    expect(page.get_by_role("heading", name=second.unit.name, level=1)).to_be_visible()
    expect(page.locator(f"#decision{second.pk}_rationale")).to_have_value("")  # per review

    # then coming back restores the draft, with the notice
    page.locator(".meeting-nav a[rel=prev]").click()
    expect(page.get_by_role("heading", name=first.unit.name, level=1)).to_be_visible()
    expect(kind).to_have_value("optimise")
    expect(why).to_have_value("Costs went up; half typed")
    expect(page.locator(".draft-note")).to_be_visible()

    # and leaving the meeting with the unsaved draft asks first
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.get_by_role("link", name=re.compile("Leave the meeting")).click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    expect(page.get_by_role("heading", name=first.unit.name, level=1)).to_be_visible()

    # and "Discard draft" empties the form and forgets it
    page.get_by_role("button", name="Discard draft").click()
    expect(why).to_have_value("")
    expect(page.locator(".draft-note")).to_have_count(0)
    page.reload()
    expect(why).to_have_value("")

    # and a saved decision leaves no draft behind
    kind.select_option("invest")
    why.fill("Adoption doubled.")
    with page.expect_response(lambda r: "/decisions/" in r.url) as recorded:
        page.get_by_role("button", name="Record the decision").click()
    assert recorded.value.status == 200
    expect(page.locator(f"#decisions-{first.pk} .rationale")).to_have_text("Adoption doubled.")
    page.reload()
    expect(why).to_have_value("")
    expect(page.locator(".draft-note")).to_have_count(0)
    assert Decision.objects.get().kind == "invest"
