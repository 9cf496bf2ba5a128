"""Security headers on every response (docs/security.md): the Content-Security-Policy,
Permissions-Policy and the rest, the private Cache-Control for logged-in users, and the
/csp-report/ endpoint."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from portfolio.headers import MAX_REPORT_BYTES

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "report-uri": "/csp-report/",
    "report-to": "csp-endpoint",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value.strip() for name, value in parts}


@pytest.fixture
def leader_client(leader):
    client = Client()
    client.force_login(leader)
    return client


def test_a_page_carries_exactly_the_policy(leader_client):
    response = leader_client.get("/dashboard/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == EXPECTED_CSP


@pytest.mark.parametrize("path", ["/dashboard/", "/accounts/login/", "/api/v1/", "/admin/"])
def test_no_page_allows_inline_or_evaluated_script_or_style(leader_client, path):
    policy = directives(leader_client.get(path)["Content-Security-Policy"])

    for directive in ("script-src", "style-src", "default-src"):
        assert "unsafe-inline" not in policy[directive]
        assert "unsafe-eval" not in policy[directive]
    assert "script-src-attr" not in policy and "style-src-attr" not in policy


@pytest.mark.parametrize("path", ["/dashboard/", "/accounts/login/", "/healthz", "/api/v1/"])
def test_every_response_switches_off_the_features_the_app_never_uses(client, path):
    response = client.get(path)

    features = dict(
        item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert features[feature] == "()"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Reporting-Endpoints"] == 'csp-endpoint="/csp-report/"'
    assert "Content-Security-Policy" in response


def test_pages_of_a_logged_in_user_are_private(leader_client, product):
    for path in ("/dashboard/", "/products/", f"/products/{product.slug}/", "/api/v1/products/"):
        response = leader_client.get(path)
        assert response.status_code == 200, path
        assert "private" in response["Cache-Control"], path
        assert "public" not in response["Cache-Control"], path


def test_a_page_that_chose_no_store_keeps_it(leader_client):
    # the login page is never_cache: no-store, and private on top, untouched
    response = leader_client.get("/accounts/login/")

    assert "no-store" in response["Cache-Control"]


def test_an_anonymous_answer_is_not_marked_private(client):
    response = client.get("/healthz")

    assert "Cache-Control" not in response


def _policy_in_a_fresh_process(**env: str) -> str:
    """The form-action of an answer (one that reads no database) of a server started with
    `env`."""
    code = (
        "import json, django; django.setup(); from django.test import Client; "
        "r = Client().get('/csp-report/'); "
        "d = dict(p.strip().split(' ', 1) for p in r['Content-Security-Policy'].split(';')); "
        "print(json.dumps(d['form-action']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portfolio.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_form_action_allows_the_sign_in_provider_when_one_is_configured():
    # From the environment, as production sets it: the policy names the provider's origin.
    assert _policy_in_a_fresh_process(OIDC_ISSUER="") == "'self'"
    assert _policy_in_a_fresh_process(OIDC_ISSUER="https://login.example.org/realms/it/") == (
        "'self' https://login.example.org"
    )


def test_form_action_follows_the_sign_in_provider_set_at_run_time(leader_client, settings):
    # The log-out form on every page may end at the provider: its origin must be allowed
    # even when the issuer comes from settings changed after start-up, not the environment.
    settings.OIDC_ISSUER = "https://idp.example.org:8443/realms/it"

    response = leader_client.get("/dashboard/")

    form_action = directives(response["Content-Security-Policy"])["form-action"].split()
    assert form_action == ["'self'", "https://idp.example.org:8443"]


# --- the report endpoint -----------------------------------------------------------------------

CSP_REPORT = {
    "csp-report": {
        "document-uri": "https://portfolio.example.org/dashboard/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "source-file": "https://portfolio.example.org/dashboard/",
        "line-number": 12,
    }
}
REPORTS_JSON = [
    {
        "type": "csp-violation",
        "url": "https://portfolio.example.org/products/",
        "body": {
            "documentURL": "https://portfolio.example.org/products/",
            "effectiveDirective": "style-src-attr",
            "blockedURL": "inline",
            "lineNumber": 3,
        },
    },
    {"type": "deprecation", "body": {"id": "something-else"}},
]


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


@pytest.mark.django_db
def test_a_report_uri_report_is_logged_without_login_csrf_or_database(
    csrf_client, caplog, django_assert_num_queries
):
    with caplog.at_level(logging.WARNING, logger="portfolio.csp"), django_assert_num_queries(0):
        response = csrf_client.post(
            "/csp-report/", json.dumps(CSP_REPORT), content_type="application/csp-report"
        )

    assert response.status_code == 204
    [record] = [r for r in caplog.records if r.name == "portfolio.csp"]
    assert record.levelno == logging.WARNING
    assert "script-src-elem" in record.getMessage()
    assert "/dashboard/" in record.getMessage()


@pytest.mark.django_db
def test_a_reporting_api_batch_logs_each_csp_violation(csrf_client, caplog):
    with caplog.at_level(logging.WARNING, logger="portfolio.csp"):
        response = csrf_client.post(
            "/csp-report/", json.dumps(REPORTS_JSON), content_type="application/reports+json"
        )

    assert response.status_code == 204
    [record] = [r for r in caplog.records if r.name == "portfolio.csp"]
    assert "style-src-attr" in record.getMessage()


@pytest.mark.django_db
def test_a_hostile_value_stays_on_one_log_line(csrf_client, caplog):
    report = {"csp-report": {"document-uri": "x\nFAKE: admin logged in", "blocked-uri": "y"}}
    with caplog.at_level(logging.WARNING, logger="portfolio.csp"):
        csrf_client.post("/csp-report/", json.dumps(report), content_type="application/json")

    [record] = [r for r in caplog.records if r.name == "portfolio.csp"]
    assert "\n" not in record.getMessage()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ("{}", 400),
        (json.dumps({"csp-report": "a string"}), 400),
        ("[1, 2]", 400),
        (json.dumps({"csp-report": {"blocked-uri": "x" * MAX_REPORT_BYTES}}), 413),
    ],
    ids=["not-json", "empty-object", "report-not-an-object", "list-of-numbers", "too-large"],
)
def test_a_report_that_is_not_one_is_refused_without_a_500(csrf_client, caplog, body, status):
    with caplog.at_level(logging.WARNING, logger="portfolio.csp"):
        response = csrf_client.post("/csp-report/", body, content_type="application/csp-report")

    assert response.status_code == status
    assert not [r for r in caplog.records if r.name == "portfolio.csp"]


@pytest.mark.django_db
def test_the_report_endpoint_only_takes_posts(client):
    assert client.get("/csp-report/").status_code == 405


def test_the_report_endpoint_is_the_one_the_policy_names():
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] == ["/csp-report/"]
