"""Single sign-on rules, through the real test provider, with Django's test client.

Each test signs in at the provider over HTTP (tests/sso/conftest.py) and hands the provider's
answer to the app's callback; the app then talks to the provider itself (discovery, token,
keys, userinfo). The browser tests (test_sso_browser.py) walk the same paths in chromium.
"""

from __future__ import annotations

import datetime as dt
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.models import Group
from django.test import Client

from accounts import oidc
from portfolio.permissions import LEADERS_GROUP, is_leader
from products.models import Person
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory
from tests.sso.conftest import CLIENT_ID, sign_in_at_provider

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(client: Client):
    user = get_user(client)
    return user if user.is_authenticated else None


def sign_in(client: Client, username: str):
    """The whole round trip; returns the callback's response."""
    return client.get(sign_in_at_provider(client, username))


# Who is who


def test_owner_is_linked_to_the_person_with_the_verified_email_case_insensitively(sso):
    # given a person who owns a unit and has no login yet (the provider sends OLIVIA.owner@...)
    olivia = PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    ProductFactory(name="Payroll", slug="payroll", owner=olivia)
    client = Client()

    # when she signs in through the provider
    response = sign_in(client, "olivia")

    # then she lands on the home page with a new login linked to her, as an owner, not a leader
    assert response.status_code == 302
    assert response["Location"] == "/"
    olivia.refresh_from_db()
    assert olivia.user is not None
    assert signed_in(client) == olivia.user
    assert not olivia.user.has_usable_password()
    assert not is_leader(olivia.user)
    assert client.get("/products/payroll/edit/").status_code == 200


def test_a_person_with_a_login_signs_in_to_that_login(sso):
    login = UserFactory(username="olivia")
    olivia = PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=login)
    client = Client()

    sign_in(client, "olivia")

    assert signed_in(client) == login
    olivia.refresh_from_db()
    assert olivia.user == login
    assert Person.objects.count() == 1


def test_the_group_claim_gives_the_leader_role_and_a_sign_in_without_it_takes_it_away(sso):
    lena = PersonFactory(name="Lena Leader", email="lena.leader@example.org", user=None)

    first = Client()
    sign_in(first, "lena")
    lena.refresh_from_db()
    assert lena.user.groups.filter(name=LEADERS_GROUP).exists()
    assert 'href="/settings/"' in first.get("/dashboard/").content.decode()  # leaders only

    second = Client()
    sign_in(second, "lena-nogroup")
    assert signed_in(second) == lena.user
    assert not lena.user.groups.filter(name=LEADERS_GROUP).exists()
    assert 'href="/settings/"' not in second.get("/dashboard/").content.decode()


def test_without_a_leader_group_configured_the_role_is_left_alone(sso, settings):
    settings.OIDC_LEADER_GROUP = ""
    login = UserFactory(username="lena", leader=True)
    PersonFactory(name="Lena Leader", email="lena.leader@example.org", user=login)

    sign_in(Client(), "lena-nogroup")

    assert login.groups.filter(name=LEADERS_GROUP).exists()


def test_a_superuser_keeps_the_role_whatever_the_group_claim_says(sso):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    PersonFactory(name="Lena Leader", email="lena.leader@example.org", user=boss)
    boss.groups.add(Group.objects.get_or_create(name=LEADERS_GROUP)[0])
    client = Client()

    sign_in(client, "lena-nogroup")

    boss.refresh_from_db()
    assert signed_in(client) == boss
    assert boss.is_superuser
    assert boss.groups.filter(name=LEADERS_GROUP).exists()


def test_an_unknown_email_is_refused_with_the_leaders_to_ask(sso):
    PersonFactory(name="Lena Leader", user=UserFactory(username="lena", leader=True))
    PersonFactory(
        name="Gone Leader",
        active=False,
        departed_on=dt.date(2026, 1, 31),
        user=UserFactory(username="gone", leader=True),
    )
    client = Client()

    response = sign_in(client, "ursula")

    assert response.status_code == 403
    body = response.content.decode()
    assert "ursula.unknown@example.org" in body
    assert "Lena Leader" in body
    assert "Gone Leader" not in body
    assert signed_in(client) is None
    assert not Person.objects.filter(email__iexact="ursula.unknown@example.org").exists()


def test_the_refusal_names_the_configured_contact(sso, settings):
    settings.OIDC_HELP_CONTACT = "the service desk (extension 4242)"

    response = sign_in(Client(), "ursula")

    assert response.status_code == 403
    assert "the service desk (extension 4242)" in response.content.decode()


def test_an_unknown_email_becomes_a_viewer_when_creation_is_allowed(sso, settings):
    settings.OIDC_CREATE_USERS = True
    client = Client()

    response = sign_in(client, "ursula")

    assert response.status_code == 302
    person = Person.objects.get(email="ursula.unknown@example.org")
    assert person.name == "Ursula Unknown"
    assert signed_in(client) == person.user
    assert not is_leader(person.user)
    assert person.history.first().history_change_reason.startswith("First single sign-on")


def test_a_departed_person_is_refused_whatever_the_provider_says(sso, settings):
    settings.OIDC_CREATE_USERS = True  # not even creation lets them back in
    login = UserFactory(username="dora")
    PersonFactory(
        name="Dora Departed",
        email="dora.departed@example.org",
        user=login,
        active=False,
        departed_on=dt.date(2026, 1, 31),
    )
    client = Client()

    response = sign_in(client, "dora")  # her provider account still says leader

    assert response.status_code == 403
    assert "left" in response.content.decode()
    assert signed_in(client) is None
    assert not login.groups.filter(name=LEADERS_GROUP).exists()


def test_a_single_sign_on_session_ends_when_the_person_leaves(sso):
    olivia = PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    client = Client()
    sign_in(client, "olivia")
    assert client.get("/dashboard/").status_code == 200

    Person.objects.filter(pk=olivia.pk).update(active=False, departed_on=dt.date(2026, 1, 31))

    assert client.get("/dashboard/").status_code == 302
    assert signed_in(client) is None


def test_a_switched_off_login_is_refused(sso):
    login = UserFactory(username="olivia", is_active=False)
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=login)
    client = Client()

    response = sign_in(client, "olivia")

    assert response.status_code == 403
    assert "switched off" in response.content.decode()
    assert signed_in(client) is None


def test_an_email_the_provider_has_not_verified_is_refused(sso):
    PersonFactory(name="Victor", email="victor@example.org", user=None)
    client = Client()

    response = sign_in(client, "victor")

    assert response.status_code == 403
    assert "not confirmed" in response.content.decode()
    assert signed_in(client) is None


# The protocol


def test_an_expired_id_token_is_refused(sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    client = Client()

    response = sign_in(client, "olivia-late")

    assert response.status_code == 403
    assert "expired" in response.content.decode()
    assert signed_in(client) is None


def test_a_tampered_state_is_refused_and_the_real_one_works_once(sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    client = Client()
    callback = sign_in_at_provider(client, "olivia")
    state = parse_qs(urlsplit(callback).query)["state"][0]

    tampered = client.get(callback.replace(f"state={state}", f"state={state}x"))
    assert tampered.status_code == 400
    assert "not valid" in tampered.content.decode()
    assert signed_in(client) is None

    assert client.get(callback).status_code == 302
    assert signed_in(client) is not None
    replayed = Client().get(callback)  # another browser, or the same answer twice
    assert replayed.status_code == 400


def test_the_authorisation_request_uses_pkce_state_and_nonce(sso):
    response = Client().get("/oidc/authenticate/?next=/products/")

    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(sso.issuer + "/authorize/")
    assert query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] and query["state"] and query["nonce"]
    assert query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]


def test_the_user_is_sent_where_they_were_going(sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    client = Client()

    response = client.get(
        sign_in_at_provider(client, "olivia", start="/oidc/authenticate/?next=/products/")
    )

    assert response["Location"] == "/products/"


def test_an_error_from_the_provider_is_shown_as_a_page(sso):
    client = Client()
    client.get("/oidc/authenticate/")

    response = client.get("/oidc/callback/?error=access_denied&error_description=Cancelled")

    assert response.status_code == 403
    assert "Cancelled" in response.content.decode()


def test_an_unreachable_provider_is_a_clear_page_not_an_error(sso, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{port}/o"
    settings.OIDC_TIMEOUT = 1

    response = Client().get("/oidc/authenticate/")

    assert response.status_code == 503
    assert "could not reach Test IdP" in response.content.decode()


def test_logout_ends_the_provider_session_too(sso):
    PersonFactory(name="Olivia Owner", email="olivia.owner@example.org", user=None)
    client = Client()
    sign_in(client, "olivia")

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == sso.issuer + "/logout/"
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"]
    assert signed_in(client) is None


def test_a_password_session_logs_out_locally(sso):
    UserFactory(username="viewer")
    client = Client()
    client.post("/accounts/login/", {"username": "viewer", "password": "pass-word-123"})

    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"


# Switched off, and LOCAL_LOGIN


def test_without_an_issuer_the_sign_in_page_is_the_password_form_alone(db, settings):
    settings.OIDC_ISSUER = ""
    client = Client()

    page = client.get("/accounts/login/").content.decode()

    assert "Sign in with" not in page
    assert 'name="password"' in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_the_sign_in_page_offers_the_provider_above_the_password_form(sso):
    page = Client().get("/accounts/login/?next=/products/").content.decode()

    assert "Sign in with Test IdP" in page
    assert "/oidc/authenticate/?next=/products/" in page
    assert 'name="password"' in page


def test_with_local_login_off_only_a_superuser_signs_in_with_a_password(sso, settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="viewer")
    UserFactory(username="root", is_superuser=True, is_staff=True)

    # the page offers the provider only
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'name="password"' not in page

    # a password posted anyway is refused, even the right one
    viewer = Client()
    refused = viewer.post("/accounts/login/", {"username": "viewer", "password": "pass-word-123"})
    assert refused.status_code == 403
    assert "Only a superuser can still sign in with a password" in refused.content.decode()
    assert signed_in(viewer) is None

    # the emergency sign-in shows the form, and lets the superuser in
    emergency = Client()
    assert 'name="password"' in emergency.get("/accounts/login/?local=1").content.decode()
    signed = emergency.post(
        "/accounts/login/?local=1", {"username": "root", "password": "pass-word-123"}
    )
    assert signed.status_code == 302
    assert signed_in(emergency).username == "root"


def test_local_login_off_without_single_sign_on_keeps_the_password_form(db, settings):
    settings.OIDC_ISSUER = ""
    settings.LOCAL_LOGIN = False
    UserFactory(username="viewer")
    client = Client()

    assert 'name="password"' in client.get("/accounts/login/").content.decode()
    client.post("/accounts/login/", {"username": "viewer", "password": "pass-word-123"})
    assert signed_in(client) is not None


def test_discovery_is_fetched_once_and_forgotten_when_the_settings_change(sso, settings):
    first = oidc.provider()
    assert oidc.provider() is first
    settings.OIDC_CLIENT_ID = "another"
    assert oidc.provider() is not first


def test_a_password_sign_in_never_calls_the_provider(db, settings):
    # single sign-on configured, but its provider is down
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{port}/o"
    settings.OIDC_CLIENT_ID = CLIENT_ID
    UserFactory(username="viewer")
    client = Client()

    response = client.post(
        "/accounts/login/?code=x&state=y", {"username": "viewer", "password": "pass-word-123"}
    )

    assert response.status_code == 302
    assert signed_in(client).username == "viewer"
