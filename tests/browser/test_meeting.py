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
