"""portfolio/db: the health check asks the server only when the connection may be broken, and
still finds a connection the server has ended before a request uses it."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections, connection, connections
from django.test import Client

from accounts.services import api_token_create
from portfolio.db.base import DatabaseWrapper, quiet
from tests.portfolio.factories import UserFactory


def _raw():
    """A psycopg2 connection of its own, opened as Django opens one."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True
    return raw


def _terminate(pid: int) -> None:
    other = _raw()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    time.sleep(0.2)  # the backend's farewell reaches the socket


def test_the_project_uses_its_backend():
    assert isinstance(connections["default"], DatabaseWrapper)


@pytest.mark.django_db
def test_an_open_idle_connection_is_quiet_and_one_in_a_transaction_is_not():
    raw = _raw()
    try:
        assert quiet(raw)
        raw.autocommit = False
        with raw.cursor() as cursor:
            cursor.execute("SELECT 1")  # opens a transaction
        assert not quiet(raw)
        raw.rollback()
        assert quiet(raw)
        raw.close()
        assert not quiet(raw)
    finally:
        raw.close()


@pytest.mark.django_db
def test_a_connection_the_server_ended_is_not_quiet_nor_usable():
    raw = _raw()
    try:
        _terminate(raw.get_backend_pid())
        assert not quiet(raw)
        wrapper = DatabaseWrapper(connection.settings_dict, alias="health-check-test")
        wrapper.connection = raw
        assert not wrapper.is_usable()  # the fallback SELECT 1 fails
    finally:
        raw.close()


@pytest.mark.django_db
def test_a_quiet_connection_is_usable_without_a_statement(monkeypatch):
    raw = _raw()
    asked = []
    monkeypatch.setattr(
        "django.db.backends.postgresql.base.DatabaseWrapper.is_usable",
        lambda self: asked.append(self) or True,
    )
    try:
        wrapper = DatabaseWrapper(connection.settings_dict, alias="health-check-test")
        wrapper.connection = raw
        assert wrapper.is_usable()
        assert asked == []
    finally:
        raw.close()


@pytest.mark.django_db(transaction=True)
def test_a_request_after_the_server_ended_the_kept_connection_reconnects_and_succeeds():
    _token, key = api_token_create(actor=UserFactory(), name="health")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/settings/").status_code == 200
    old_pid = connection.connection.get_backend_pid()
    _terminate(old_pid)
    # What a request's start runs in a server (the test client leaves it out): the next use
    # of the connection is health-checked.
    close_old_connections()
    response = client.get("/api/v1/settings/")
    assert response.status_code == 200  # not the 503 of a request that met the dead one
    assert connection.connection.get_backend_pid() != old_pid
