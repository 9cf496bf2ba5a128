"""The test OpenID Connect provider (tests/sso/provider/), started once per test session as a
real process on 127.0.0.1, and the settings that point the app at it.

The app talks to it over real HTTP: discovery, the token endpoint, the JWKS and userinfo. The
browser tests reach the app through pytest-django's live server; the client tests hand the
provider's answer to Django's test client, so both redirect URIs are registered.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from accounts import oidc
from tests.sso.provider.idp_users import LEADER_GROUP, PASSWORD

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "portfolio"
CLIENT_SECRET = "portfolio-client-secret-for-tests"
PROVIDER_NAME = "Test IdP"


@dataclass
class Provider:
    url: str
    issuer: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def idp(live_server, tmp_path_factory) -> Provider:
    """The provider process, serving until the end of the test session."""
    tmp = tmp_path_factory.mktemp("idp")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app_urls = [live_server.url, "http://testserver"]
    env = {
        **os.environ,
        "IDP_PORT": str(port),
        "IDP_DB": str(tmp / "provider.sqlite3"),
        "IDP_CLIENT_ID": CLIENT_ID,
        "IDP_CLIENT_SECRET": CLIENT_SECRET,
        "IDP_REDIRECT_URIS": " ".join(f"{u}/oidc/callback/" for u in app_urls),
        "IDP_LOGOUT_REDIRECT_URIS": " ".join(f"{u}/accounts/login/" for u in app_urls),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = tmp / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(PROVIDER_DIR / "serve.py")],
            cwd=PROVIDER_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    provider = Provider(url=url, issuer=f"{url}/o", log=log)
    try:
        _wait_until_serving(provider, process)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(provider: Provider, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test provider stopped:\n{provider.log.read_text()}")
        try:
            if requests.get(provider.issuer + oidc.DISCOVERY_PATH, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the test provider did not start:\n{provider.log.read_text()}")


@pytest.fixture
def sso(idp, settings) -> Provider:
    """The app signs in through the test provider, with the leader group configured.

    Discovery is forgotten before and after, so no test sees another's provider."""
    oidc.forget_provider()
    settings.OIDC_ISSUER = idp.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.OIDC_LEADER_GROUP = LEADER_GROUP
    settings.OIDC_CREATE_USERS = False
    settings.OIDC_HELP_CONTACT = ""
    settings.LOCAL_LOGIN = True
    yield idp
    oidc.forget_provider()


def sign_in_at_provider(client, username: str, *, start: str = "/oidc/authenticate/") -> str:
    """Starts a sign-in with Django's test client, signs in at the provider as `username` over
    HTTP, and returns the callback path (with code and state) the provider sends back."""
    started = client.get(start)
    assert started.status_code == 302, started.content
    browser = requests.Session()
    login_page = browser.get(started["Location"], timeout=10)
    assert "/accounts/login/" in login_page.url, login_page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
    assert token
    answer = browser.post(
        login_page.url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": PASSWORD,
            "next": _next_of(login_page.url),
        },
        headers={"Referer": login_page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    authorized = browser.get(
        urljoin(login_page.url, answer.headers["Location"]),
        allow_redirects=False,
        timeout=10,
    )
    assert authorized.status_code == 302, authorized.text[:500]
    callback = urlsplit(authorized.headers["Location"])
    assert callback.netloc == "testserver", authorized.headers["Location"]
    return f"{callback.path}?{callback.query}"


def _next_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["next"][0]


# Debian's chromium for the browser tests here, as in tests/browser/.
from tests.browser.conftest import browser_type_launch_args  # noqa: E402, F401
