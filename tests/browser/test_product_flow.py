import re

import pytest
from playwright.sync_api import Page, expect

from products.models import Product, Stage
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.browser


def test_leader_adds_a_product_and_moves_it_to_growth(page: Page, live_server, transactional_db):
    # given a portfolio leader
    UserFactory(username="lena", leader=True)  # password: pass-word-123

    # when she signs in through the login form
    page.goto(f"{live_server.url}/products/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Products", level=1)).to_be_visible()

    # and adds a product through the form
    page.get_by_role("button", name="Add a product").click()  # a link styled as a button
    page.get_by_label("Name").fill("Visitor badges")
    page.get_by_label("Kind").select_option("service")
    page.get_by_label("Starting stage").select_option("introduction")
    page.get_by_label("Description").fill("Prints badges for visitors at reception.")
    page.get_by_role("button", name="Add to the portfolio").click()
    expect(page).to_have_url(re.compile(r"/products/visitor-badges/$"))
    expect(page.locator(".stage-bar li.current")).to_have_text("Introduction")

    # and moves it from introduction to growth in the lifecycle dialog
    page.get_by_role("button", name="Move stage").click()
    dialog = page.locator("#modal dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator('input[name="to_stage"]')).to_have_count(2)  # growth or retirement
    dialog.locator('input[name="to_stage"][value="growth"]').check()
    dialog.get_by_label("Reason").fill("Two more sites want it.")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Record the move").click()

    # then the detail page shows the new stage and the move in the timeline
    expect(page.locator(".stage-bar li.current")).to_have_text("Growth")
    expect(page.locator(".message-success")).to_contain_text("moved to growth")
    timeline = page.locator(".timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(1)).to_contain_text("Introduction")
    expect(timeline.nth(1)).to_contain_text("Growth")
    expect(timeline.nth(1)).to_contain_text("Two more sites want it.")
    assert Product.objects.get(slug="visitor-badges").lifecycle_stage == Stage.GROWTH
