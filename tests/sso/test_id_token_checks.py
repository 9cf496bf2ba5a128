"""The ID token checks the library leaves to us: audience, issuer, expiry, required claims.

No provider here: tokens are signed with a key made for the test and handed to the backend's
check directly. The whole round trip, with an expired token from the real provider, is in
test_sso_rules.py and test_sso_browser.py.
"""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.oidc import SignInRefused, SSOBackend

ISSUER = "https://id.example.org"
CLIENT_ID = "portfolio"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def backend(settings) -> SSOBackend:
    settings.OIDC_CLOCK_LEEWAY = 30
    backend = SSOBackend()
    backend.OIDC_RP_CLIENT_ID = CLIENT_ID
    backend.OIDC_RP_SIGN_ALGO = "RS256"
    backend.issuer = ISSUER
    return backend


def token(*, algorithm: str = "RS256", key=KEY, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "42", "iat": now, "exp": now + 300}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


def check(backend: SSOBackend, signed: str) -> dict:
    return backend._verify_jws(signed, KEY.public_key())


def test_a_good_token_passes(backend):
    assert check(backend, token())["sub"] == "42"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired_token"),
        ({"aud": "someone-else"}, "bad_token"),
        ({"iss": "https://evil.example.org"}, "bad_token"),
        ({"iat": int(time.time()) + 3600}, "bad_token"),
        ({"exp": None}, "bad_token"),
        ({"iat": None}, "bad_token"),
        ({"sub": None}, "bad_token"),
    ],
    ids=["expired", "audience", "issuer", "issued-in-the-future", "no-exp", "no-iat", "no-sub"],
)
def test_a_token_failing_a_check_is_refused(backend, overrides, reason):
    with pytest.raises(SignInRefused) as refused:
        check(backend, token(**overrides))
    assert refused.value.reason == reason


def test_a_token_just_expired_within_the_clock_leeway_passes(backend):
    assert check(backend, token(exp=int(time.time()) - 10))


def test_another_key_or_algorithm_is_refused(backend):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignInRefused):
        check(backend, token(key=other))
    with pytest.raises(SignInRefused):
        check(backend, token(algorithm="HS256", key="a-shared-secret-long-enough-for-hs256!"))
