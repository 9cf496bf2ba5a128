"""Password rules, the change page and the reset by mail."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from demo.catalogue import DEFAULT_PASSWORD
from products.services import person_depart
from tests.portfolio.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

OLD = "pass-word-123"  # the factories' password
GOOD = "tidal-harbour-lantern-42"

# A weak password and the reason the form gives for it.
WEAK = [
    ("password", "This password is too common."),
    ("12345678", "This password is entirely numeric."),
    ("aaaaaaaa", "This password is too common."),
    ("Qz7#kLm2!pW", "It must contain at least 12 characters."),  # 11 characters
    ("rosalind-franklin1", "The password is too similar to the username."),
]


@pytest.fixture
def rosalind(db):
    """A login with a person, an address and a name the similarity rule can compare."""
    user = UserFactory(username="rosalind-franklin", email="rosalind@example.org")
    PersonFactory(name="Rosalind Franklin", email="rosalind@example.org", user=user)
    return user


@pytest.fixture
def rosalind_client(rosalind):
    client = Client()
    client.force_login(rosalind)
    return client


def signs_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("password, reason", WEAK, ids=[w[0] for w in WEAK])
def test_weak_passwords_are_refused(password, reason, rosalind):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=rosalind)
    assert any(reason in message for message in refused.value.messages)


def test_a_good_password_and_the_demo_password_pass(rosalind):
    validate_password(GOOD, user=rosalind)
    # The demo's printed password is set without the rules, but keeps to them anyway.
    validate_password(DEFAULT_PASSWORD, user=get_user_model()(username="leader"))


# --- change ---------------------------------------------------------------------------------


def test_the_user_menu_links_to_the_change_page(rosalind_client):
    html = rosalind_client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("password_change")}"' in html


def test_a_wrong_current_password_is_refused(rosalind_client, rosalind):
    response = rosalind_client.post(
        reverse("password_change"),
        {"old_password": "not-my-password", "new_password1": GOOD, "new_password2": GOOD},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    rosalind.refresh_from_db()
    assert rosalind.check_password(OLD)


@pytest.mark.parametrize("password, reason", WEAK, ids=[w[0] for w in WEAK])
def test_a_weak_new_password_is_refused_with_the_reason(
    password, reason, rosalind_client, rosalind
):
    response = rosalind_client.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert reason in response.content.decode()
    rosalind.refresh_from_db()
    assert rosalind.check_password(OLD)


def test_a_good_new_password_is_set_and_the_session_goes_on(rosalind_client):
    response = rosalind_client.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": GOOD, "new_password2": GOOD},
    )
    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    assert rosalind_client.get(reverse("dashboard")).status_code == 200
    assert signs_in("rosalind-franklin", GOOD)
    assert not signs_in("rosalind-franklin", OLD)


# --- reset ----------------------------------------------------------------------------------


def ask_reset(email: str, capture) -> tuple:
    """Ask for a reset as an anonymous visitor; the queued mail job runs at the commit."""
    client = Client()
    with capture(execute=True):
        response = client.post(reverse("password_reset"), {"email": email})
    return client, response


def test_the_login_page_links_to_the_reset():
    html = Client().get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in html
    assert "Forgot your password?" in html


def test_the_reset_link_sets_a_password_once(
    rosalind, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://portfolio.example.org/"
    # given a reset asked for with the address typed in capitals
    client, response = ask_reset("Rosalind@Example.org", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")

    # then one mail goes to the login's address, with an absolute link
    (mail,) = mailoutbox
    assert mail.to == ["rosalind@example.org"]
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL
    assert "rosalind-franklin" in mail.body
    link = re.search(r"https://portfolio\.example\.org(/accounts/password/reset/\S+/)", mail.body)
    assert link, mail.body
    path = link.group(1)

    # when the link is opened: the token leaves the URL, and no page of it is stored
    opened = client.get(path)
    assert opened.status_code == 302
    assert "no-store" in opened["Cache-Control"]
    form_page = client.get(opened.url)
    assert form_page.status_code == 200
    assert "no-store" in form_page["Cache-Control"]
    assert "Choose a new password" in form_page.content.decode()

    # a weak password is refused with its reason
    weak = client.post(opened.url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200
    assert "This password is entirely numeric." in weak.content.decode()

    # a good one is set
    done = client.post(opened.url, {"new_password1": GOOD, "new_password2": GOOD})
    assert done.status_code == 302
    assert done.url == reverse("password_reset_complete")
    assert signs_in("rosalind-franklin", GOOD)

    # and the link does not work a second time
    again = Client().get(path, follow=True)
    assert "This link does not work" in again.content.decode()
    assert "new_password1" not in again.content.decode()


def test_without_a_site_url_the_link_names_the_host_asked(
    rosalind, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = ""
    ask_reset("rosalind@example.org", django_capture_on_commit_callbacks)
    (mail,) = mailoutbox
    assert "http://testserver/accounts/password/reset/" in mail.body


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    rosalind, mailoutbox, django_capture_on_commit_callbacks
):
    _, known = ask_reset("rosalind@example.org", django_capture_on_commit_callbacks)
    _, unknown = ask_reset("nobody@example.org", django_capture_on_commit_callbacks)
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert [m.to for m in mailoutbox] == [["rosalind@example.org"]]
    done = Client().get(unknown.url).content.decode()
    assert "If that address belongs to a login here" in done


def test_the_reset_request_names_a_bad_address():
    response = Client().post(reverse("password_reset"), {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()


def test_a_departed_person_cannot_reset(
    rosalind, leader, mailoutbox, django_capture_on_commit_callbacks
):
    # given a link made while she was still here
    token = default_token_generator.make_token(rosalind)
    uid = urlsafe_base64_encode(force_bytes(rosalind.pk))
    person_depart(actor=leader, person=rosalind.person)

    # then asking sends nothing
    ask_reset("rosalind@example.org", django_capture_on_commit_callbacks)
    assert mailoutbox == []
    # and the old link no longer opens the form
    page = Client().get(
        reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}), follow=True
    )
    assert "This link does not work" in page.content.decode()


def test_an_inactive_login_cannot_reset(rosalind, mailoutbox, django_capture_on_commit_callbacks):
    rosalind.is_active = False
    rosalind.save()
    ask_reset("rosalind@example.org", django_capture_on_commit_callbacks)
    assert mailoutbox == []
