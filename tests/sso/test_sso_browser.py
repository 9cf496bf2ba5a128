"""Single sign-on in Debian's chromium: the button, the provider's own login page, and back.

The test provider (tests/sso/provider/) runs as its own process; the app is pytest-django's
live server, pointed at the provider by the `sso` fixture (tests/sso/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from portfolio.permissions import LEADERS_GROUP
from products.models import Person
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.sso.conftest import PROVIDER_NAME
from tests.sso.provider.idp_users import PASSWORD

pytestmark = pytest.mark.browser


def sign_in_with_provider(page: Page, app_url: str, username: str) -> None:
    """From the app's sign-in page, through the provider's login form, back to the app."""
    page.goto(f"{app_url}/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in at the provider").click()


def log_out(page: Page) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()


DASHBOARD, MY_WORK, PRODUCTS = "Portfolio dashboard", "My work", "Products"


def expect_home(page: Page, app_url: str, heading: str) -> None:
    """Signed in and on the role's home page: leaders the dashboard, owners My work, the
    rest the product list."""
    expect(page.get_by_role("heading", name=heading, level=1, exact=True)).to_be_visible()
    assert page.url.startswith(app_url)


def expect_refused(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", name="You cannot sign in here")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(text)


def test_leader_by_group_claim_and_a_later_sign_in_without_the_group(page: Page, live_server, sso):
    lena = PersonFactory(name="Lena Leader", email="lena.leader@example.org", user=None)

    sign_in_with_provider(page, live_server.url, "lena")

    expect_home(page, live_server.url, DASHBOARD)
    expect(page.get_by_role("link", name="Settings", exact=True)).to_be_visible()
    lena.refresh_from_db()
    assert lena.user.groups.filter(name=LEADERS_GROUP).exists()

    # the provider no longer puts her in the group: the role goes at her next sign-in
    log_out(page)
    sign_in_with_provider(page, live_server.url, "lena-nogroup")
    expect_home(page, live_server.url, PRODUCTS)
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_count(0)
    assert not lena.user.groups.filter(name=LEADERS_GROUP).exists()


def test_owner_by_email_edits_their_unit(page: Page, live_server, sso):
    olivia = PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    ProductFactory(name="Payroll", slug="payroll", owner=olivia)

    sign_in_with_provider(page, live_server.url, "olivia")

    expect_home(page, live_server.url, MY_WORK)
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_count(0)
    olivia.refresh_from_db()
    assert olivia.user is not None
    page.goto(f"{live_server.url}/products/payroll/edit/")
    page.get_by_label("Description").fill("Salaries, payslips and year-end forms.")
    page.get_by_role("button", name=re.compile("Save")).click()
    expect(page).to_have_url(re.compile(r"/products/payroll/$"))
    expect(
        page.get_by_role("paragraph").filter(has_text="Salaries, payslips and year-end forms.")
    ).to_be_visible()


def test_unknown_email_is_refused_with_whom_to_ask(page: Page, live_server, sso):
    PersonFactory(name="Lena Leader", user=UserFactory(username="lena", leader=True))

    sign_in_with_provider(page, live_server.url, "ursula")

    expect_refused(page, "ursula.unknown@example.org")
    expect(page.get_by_role("alert")).to_contain_text("Lena Leader")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_unknown_email_becomes_a_viewer_when_creation_is_on(page: Page, live_server, sso, settings):
    settings.OIDC_CREATE_USERS = True

    sign_in_with_provider(page, live_server.url, "ursula")

    expect_home(page, live_server.url, PRODUCTS)
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_count(0)
    assert Person.objects.get(email="ursula.unknown@example.org").user is not None


def test_departed_person_is_refused(page: Page, live_server, sso):
    PersonFactory(
        name="Dora Departed",
        email="dora.departed@example.org",
        user=UserFactory(username="dora"),
        active=False,
        departed_on=dt.date(2026, 1, 31),
    )

    sign_in_with_provider(page, live_server.url, "dora")

    expect_refused(page, "left")


def test_bad_state_is_refused(page: Page, live_server, sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)

    def tamper_state(route):
        # The app's redirect to the provider, with the state changed on the way: the
        # provider hands the changed state back, as it would a forged one.
        response = route.fetch(max_redirects=0)
        to_provider = response.headers["location"]
        tampered = re.sub(r"state=([^&]+)", r"state=\1tampered", to_provider)
        assert tampered != to_provider
        route.fulfill(response=response, headers={**response.headers, "location": tampered})

    page.route(re.compile(r".*/oidc/authenticate/.*"), tamper_state)
    sign_in_with_provider(page, live_server.url, "olivia")

    expect(page.get_by_role("heading", name="This sign-in link is not valid")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_expired_id_token_is_refused(page: Page, live_server, sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)

    sign_in_with_provider(page, live_server.url, "olivia-late")

    expect_refused(page, "expired")


def test_logout_ends_the_provider_session(page: Page, live_server, sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    sign_in_with_provider(page, live_server.url, "olivia")
    expect_home(page, live_server.url, PRODUCTS)

    log_out(page)

    # back on the app's sign-in page, and the provider asks for the password again
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_label("Password")).to_be_visible()


def test_local_login_off_leaves_the_button_and_the_emergency_sign_in(
    page: Page, live_server, sso, settings
):
    settings.LOCAL_LOGIN = False
    UserFactory(username="viewer")
    UserFactory(username="root", is_superuser=True, is_staff=True)

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)

    # the emergency sign-in refuses a password that is right but not a superuser's
    page.goto(f"{live_server.url}/accounts/login/?local=1")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Password sign-in is switched off")

    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect_home(page, live_server.url, DASHBOARD)
