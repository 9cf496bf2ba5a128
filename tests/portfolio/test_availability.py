"""portfolio/availability.py: a lost database connection is a 503 with Retry-After (JSON on
the API, a small page elsewhere), wherever it is met; other database errors stay 500s."""

from __future__ import annotations

import psycopg2
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio.availability import is_connection_failure
from products.api.views import ProductViewSet


class _Failure(psycopg2.OperationalError):
    """A psycopg2 error with the SQLSTATE the server would have sent."""

    def __init__(self, pgcode: str | None):
        super().__init__("simulated")
        self._code = pgcode

    @property
    def pgcode(self):  # type: ignore[override]
        return self._code


def wrapped(pgcode: str | None) -> OperationalError:
    """What Django raises: its own OperationalError caused by psycopg2's."""
    error = OperationalError("simulated")
    error.__cause__ = _Failure(pgcode)
    return error


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (wrapped(None), True),  # refused, reset, closed unexpectedly
        (wrapped("57P01"), True),  # terminating connection due to administrator command
        (wrapped("57P03"), True),  # the database system is starting up
        (wrapped("08006"), True),  # connection failure
        (InterfaceError("connection already closed"), True),
        (wrapped("40P01"), False),  # deadlock: a real failure of this request
        (wrapped("57014"), False),  # statement timeout
        (IntegrityError("duplicate key"), False),
        (DatabaseError("other"), False),
        (ValueError("not a database error"), False),
        (None, False),
    ],
)
def test_only_connection_level_failures_count(exc, expected):
    assert is_connection_failure(exc) is expected


def fail(*args, **kwargs):
    raise wrapped("57P01")


@pytest.mark.django_db
def test_an_api_view_that_loses_its_connection_answers_json_503(leader, monkeypatch):
    monkeypatch.setattr(ProductViewSet, "list", fail)
    client = APIClient()
    client.force_authenticate(leader)

    response = client.get(reverse("api-product-list"))

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "unavailable"
    assert "Try again" in response.json()["detail"]


@pytest.mark.django_db
def test_a_page_whose_session_cannot_load_answers_a_small_503_page(leader, monkeypatch):
    # The session is read by the login check, a middleware, before any view runs.
    client = Client(raise_request_exception=False)
    client.force_login(leader)
    monkeypatch.setattr(SessionStore, "load", fail)

    response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"].startswith("text/html")
    assert "Back in a moment" in response.content.decode()


@pytest.mark.django_db
def test_other_database_errors_stay_500(leader, monkeypatch):
    def deadlock(*args, **kwargs):
        raise wrapped("40P01")

    monkeypatch.setattr(ProductViewSet, "list", deadlock)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(leader)

    response = client.get(reverse("api-product-list"))

    assert response.status_code == 500
    assert "Retry-After" not in response
