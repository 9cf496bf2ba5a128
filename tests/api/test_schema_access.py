"""The OpenAPI schema and the API docs follow the README's rule: a login for everything.

The schema answers 401 to an anonymous call and 200 to a token or a session (schemathesis and
client generators fetch it with a token); the Swagger UI page sends an anonymous visitor to the
login page, and its start-up script too. Every role is in the permission matrix
(tests/permissions/); this covers the token and what the answers hold.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import api_token_create

SCHEMA = "/api/v1/schema/"
DOCS = "/api/v1/docs/"


@pytest.mark.django_db
def test_anonymous_gets_no_schema(api):
    response = api.get(SCHEMA)

    assert response.status_code == 401
    assert b"openapi" not in response.content


@pytest.mark.parametrize("fmt", ["", "?format=json"])
def test_a_token_gets_the_schema(viewer, fmt):
    client = APIClient()
    _, key = api_token_create(actor=viewer, name="Schema client")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.get(SCHEMA + fmt)

    assert response.status_code == 200
    assert b"/api/v1/products/" in response.content


def test_a_wrong_token_gets_no_schema(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get(SCHEMA).status_code == 401


@pytest.mark.parametrize("path", [DOCS, DOCS + "?script="])
def test_anonymous_is_sent_to_log_in_for_the_docs(db, path):
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_docs_page_is_served_locally_without_inline_script(viewer):
    client = Client()
    client.force_login(viewer)

    page = client.get(DOCS).content.decode()
    script = client.get(DOCS + "?script=")

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "<style" not in page
    assert '<script src="/api/v1/docs/?script="></script>' in page
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in script.content.decode()
