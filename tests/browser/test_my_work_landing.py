import re

import pytest
from playwright.sync_api import Page, expect

from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.browser


def test_an_owner_signs_in_and_lands_on_my_work(page: Page, live_server, transactional_db):
    # given an owner of one product (password: pass-word-123)
    olivia = PersonFactory(name="Olivia Owner", user=UserFactory(username="olivia"))
    ProductFactory(name="Payroll", slug="payroll", owner=olivia)

    # when she signs in from the front door
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()

    # then she lands on My work, with her product in her units
    expect(page).to_have_url(re.compile(r"/my-work/$"))
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page.locator("#my-units")).to_contain_text("Payroll")
    expect(page.get_by_role("link", name="My work")).to_have_attribute("aria-current", "page")
