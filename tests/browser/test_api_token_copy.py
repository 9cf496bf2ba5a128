import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.models import ApiToken, hash_key
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_new_token_is_shown_once_and_the_copy_button_copies_it(
    page: Page, live_server, transactional_db
):
    # given a signed-in person (the session made here, handed to the browser)
    client = Client()
    client.force_login(UserFactory(username="cora"))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # when she makes a token on the tokens page
    page.goto(f"{live_server.url}/account/tokens/")
    expect(page.get_by_role("heading", name="Your API tokens")).to_be_visible()
    page.locator("#id_name").fill("CMDB sync")
    page.get_by_role("button", name="Make the token").click()

    # then the key is shown with a warning, and the copy button (shown by the script) copies it
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    key = page.locator("#new-token-key").inner_text().strip()
    assert ApiToken.objects.get(name="CMDB sync").key_hash == hash_key(key)
    copy = page.locator("button[data-copy]")  # its name changes to "Copied"
    expect(copy).to_have_text("Copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key

    # and the list shows the token, never the key again
    page.goto(f"{live_server.url}/account/tokens/")
    expect(page.locator("table.tokens")).to_contain_text("CMDB sync")
    assert key not in page.content()
