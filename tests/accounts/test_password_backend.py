"""accounts/backends.py: the password backend reads a session's login with one statement
written once per process, and keeps every rule of Django's ModelBackend: the same user, no
login for a switched-off or unknown one, the session's password hash still checked, and sign-in
through the login page unchanged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.backends import USER_SQL, PasswordBackend
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db

PATH = "accounts.backends.PasswordBackend"
PASSWORD = "pass-word-123"  # the factories' password
NEW_PASSWORD = "tidal-harbour-lantern-42"
PAGE = "/my-work/"
User = get_user_model()


def _client(user) -> Client:
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    return client


def _signed_in(client: Client) -> bool:
    response = client.get(PAGE)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_it_is_the_one_password_backend_after_the_lockout():
    backends = settings.AUTHENTICATION_BACKENDS
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends.count(PATH) == 1
    # ModelBackend beside it would check (and hash) a wrong password twice
    assert "django.contrib.auth.backends.ModelBackend" not in backends


def test_it_reads_the_user_the_orm_reads_field_for_field():
    # given a login with every field set away from its default
    user = UserFactory(
        first_name="Ada",
        last_name="Lovelace",
        is_staff=True,
        is_superuser=True,
        last_login=timezone.now() - dt.timedelta(days=3, microseconds=7),
        date_joined=dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=dt.UTC),
    )
    # when the backend reads it
    with CaptureQueriesContext(connection) as ctx:
        found = PasswordBackend().get_user(user.pk)
    # then in one statement, written once
    assert [q["sql"] for q in ctx.captured_queries] == [USER_SQL % user.pk]
    # and it is what the ORM reads, every concrete field, as a saved row of this database
    expected = User.objects.get(pk=user.pk)
    assert type(found) is User
    for field in User._meta.concrete_fields:
        ours, theirs = getattr(found, field.attname), getattr(expected, field.attname)
        assert ours == theirs and type(ours) is type(theirs), field.attname
    assert found.get_deferred_fields() == set()
    assert not found._state.adding and found._state.db == expected._state.db
    assert found.get_session_auth_hash() == expected.get_session_auth_hash()


def test_a_user_never_signed_in_has_no_last_login():
    user = UserFactory(last_login=None)
    assert PasswordBackend().get_user(user.pk).last_login is None


@pytest.mark.parametrize("user_id", [987654, "987654", "not-an-id", "", None, 2**70])
def test_an_unknown_id_or_no_id_is_no_login(user_id):
    UserFactory()
    assert PasswordBackend().get_user(user_id) is None


def test_a_string_id_as_the_session_keeps_it_finds_the_login():
    user = UserFactory()
    assert PasswordBackend().get_user(str(user.pk)) == user


def test_a_switched_off_login_is_no_login_and_its_session_becomes_anonymous():
    # given a signed-in session
    user = UserFactory()
    client = _client(user)
    assert _signed_in(client)
    # when the login is switched off
    User.objects.filter(pk=user.pk).update(is_active=False)
    # then the backend finds no login, as ModelBackend, and the next request is anonymous
    assert PasswordBackend().get_user(user.pk) is None
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_password_change_still_signs_the_other_sessions_out():
    # given the same login signed in twice
    user = UserFactory()
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert _signed_in(here) and _signed_in(elsewhere)
    # when it changes its password on one of them
    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # then that one goes on, and the other is signed out (the session hash no longer matches)
    assert _signed_in(here)
    assert not _signed_in(elsewhere)


def test_the_login_page_signs_in_through_this_backend():
    user = UserFactory()
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == PATH
    assert _signed_in(client)
    # and a wrong password still signs no one in
    other = Client()
    refused = other.post(reverse("login"), {"username": user.username, "password": "wrong-one"})
    assert refused.status_code == 200
    assert BACKEND_SESSION_KEY not in other.session


def test_a_page_reads_the_login_once_with_the_statement_written_once():
    user = UserFactory()
    client = _client(user)
    client.get(PAGE)  # the session is warm
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(PAGE).status_code == 200
    table = User._meta.db_table
    reads = [q["sql"] for q in ctx.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert reads == [USER_SQL % user.pk]
