import re

import pytest
from playwright.sync_api import Page, expect

from backlog import services
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()


def test_owner_opens_an_item_from_the_backlog_and_comments(
    page: Page, live_server, transactional_db
):
    # given an owner whose product has one item
    owner = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    product = ProductFactory(name="Payroll", slug="payroll", owner=owner)
    services.backlog_item_create(actor=owner.user, product=product, title="Payslips by email")

    # when she opens the backlog and follows the item's title
    page.goto(f"{live_server.url}/units/{product.unit_id}/backlog/")
    sign_in(page, "olivia")
    page.get_by_role("link", name="Payslips by email", exact=True).click()
    expect(page.get_by_role("heading", name="Payslips by email", level=1)).to_be_visible()

    # then a blank comment (spaces pass the browser's own check) is refused on the field
    comments = page.locator("#comments")
    field = page.get_by_role("textbox", name="Comment")
    field.fill("   ")
    page.get_by_role("button", name="Add comment").click()
    expect(comments.locator(".has-errors")).to_contain_text("Write something to comment.")

    # and a comment appears in the list and in the history, swapped in by htmx
    field = page.get_by_role("textbox", name="Comment")
    field.fill("Ask payroll which months matter.")
    page.get_by_role("button", name="Add comment").click()
    expect(comments.locator(".comment-body")).to_have_text("Ask payroll which months matter.")
    expect(page.locator("#item-history")).to_contain_text("Commented")
    expect(page.get_by_role("textbox", name="Comment")).to_have_value("")
