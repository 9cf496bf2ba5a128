"""Migration accounts/0004: sessions signed in by Django's ModelBackend name the password
backend that took its place, so no one is signed out by the change; going back names
ModelBackend again. The table is read in batches."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from portfolio.sessions import SessionStore
from tests.portfolio.factories import UserFactory

OLD = "django.contrib.auth.backends.ModelBackend"
NEW = "accounts.backends.PasswordBackend"
SSO = "accounts.oidc.SSOBackend"
BEFORE = [("accounts", "0003_page_visit")]
AFTER = [("accounts", "0004_sessions_to_password_backend")]
PAGE = "/my-work/"
PASSWORD = "pass-word-123"

migration = import_module("accounts.migrations.0004_sessions_to_password_backend")


def _user(state, username: str):
    """A login made with the user model as it stood at that migration (the auth app's own
    migrations may be behind too), and the current model's view of it."""
    historical = state.apps.get_model("auth", "User").objects.create(
        username=username, password=make_password(PASSWORD), last_login=timezone.now()
    )
    return get_user_model()(pk=historical.pk, username=username, password=historical.password)


def _session(user=None, backend: str = OLD, **extra) -> str:
    session = SessionStore()
    if user is not None:
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.update(extra)
    session.create()
    return session.session_key


def _stored(key: str) -> dict:
    return SessionStore().decode(Session.objects.get(session_key=key).session_data)


def _page(key: str) -> int:
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client.get(PAGE).status_code


@pytest.mark.django_db(transaction=True)
def test_sessions_of_model_backend_name_the_password_backend_and_stay_signed_in(migrator):
    # given the sessions of the day before: two password sign-ins, one single sign-on, one
    # anonymous session with a note
    old = migrator.apply_initial_migration(BEFORE)
    ada, ben, cy = (_user(old, name) for name in ("ada", "ben", "cy"))
    keys = {
        "ada": _session(ada, cart=[1, 2]),
        "ben": _session(ben),
        "cy": _session(cy, backend=SSO),
        "anon": _session(note="hello"),
    }
    expiry = dict(Session.objects.values_list("session_key", "expire_date"))
    before = {name: _stored(key) for name, key in keys.items()}

    # when the migration runs
    migrator.apply_tested_migration(AFTER)

    # then the password sign-ins name the new backend, and nothing else changed
    after = {name: _stored(key) for name, key in keys.items()}
    for name in ("ada", "ben"):
        assert after[name] == {**before[name], BACKEND_SESSION_KEY: NEW}
    assert after["cy"] == before["cy"] and after["anon"] == before["anon"]
    assert dict(Session.objects.values_list("session_key", "expire_date")) == expiry
    # and every signed-in session still is, on the migrated site
    migrator.reset()
    assert _page(keys["ada"]) == 200 and _page(keys["ben"]) == 200
    assert _page(keys["anon"]) == 302


@pytest.mark.django_db(transaction=True)
def test_going_back_names_model_backend_again(migrator):
    new = migrator.apply_initial_migration(AFTER)
    user = _user(new, "ada")
    key = _session(user, backend=NEW)
    migrator.apply_tested_migration(BEFORE)
    assert _stored(key)[BACKEND_SESSION_KEY] == OLD
    migrator.reset()


@pytest.mark.django_db
def test_the_table_is_read_in_batches_and_every_session_is_rewritten():
    # given more sessions than a batch, signed in and not, and one the store cannot read
    users = [UserFactory() for _ in range(5)]
    signed = [_session(user) for user in users]
    anonymous = [_session(n=n) for n in range(2)]
    Session.objects.create(
        session_key="x" * 32, session_data="not-signed", expire_date="2099-01-01T00:00Z"
    )

    changed = migration.rewrite_backend(Session, SessionStore(), OLD, NEW, batch=2)

    assert changed == 5
    assert [_stored(key)[BACKEND_SESSION_KEY] for key in signed] == [NEW] * 5
    assert all(BACKEND_SESSION_KEY not in _stored(key) for key in anonymous)
    assert Session.objects.get(session_key="x" * 32).session_data == "not-signed"
    # a second run finds nothing left to do
    assert migration.rewrite_backend(Session, SessionStore(), OLD, NEW, batch=2) == 0
