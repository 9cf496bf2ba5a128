"""portfolio/sessions.py: the session read written once per process loads what Django's own
database store loads, and an expired or unknown session still signs no one in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from portfolio.sessions import SessionStore
from tests.portfolio.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/my-work/"


def _signed_in(user) -> str:
    session = DjangoStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.PasswordBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["note"] = {"a": [1, 2]}
    session.create()
    return session.session_key


def _client(key: str) -> Client:
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def test_the_project_uses_this_store():
    assert settings.SESSION_ENGINE == "portfolio.sessions"


def test_it_loads_what_djangos_store_loads():
    key = _signed_in(UserFactory())
    ours, theirs = SessionStore(key), DjangoStore(key)
    assert ours.load() == theirs.load()
    assert ours.load()["note"] == {"a": [1, 2]}
    assert ours.session_key == key


def test_a_live_session_signs_its_user_in_with_one_query_for_the_session(
    django_assert_num_queries,
):
    key = _signed_in(UserFactory())
    with django_assert_num_queries(1) as captured:
        assert SessionStore(key).load()
    assert captured.captured_queries[0]["sql"].startswith('SELECT "session_data"')
    assert _client(key).get(PAGE).status_code == 200


def test_an_expired_session_signs_no_one_in():
    key = _signed_in(UserFactory())
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    response = _client(key).get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_session_signs_no_one_in():
    store = SessionStore("x" * 32)
    assert store.load() == {}
    assert store.session_key is None
    assert _client("x" * 32).get(PAGE).status_code == 302
