"""Single sign-on through an OpenID Connect provider, on top of mozilla-django-oidc.

The library does the protocol: the authorisation request with state, nonce and PKCE, the code
exchange, the ID token's signature (RS256, the provider's JWKS) and the userinfo call. It wants
every endpoint as a setting; here they come from the provider's discovery document
(`<OIDC_ISSUER>/.well-known/openid-configuration`), fetched on first use and kept for the life
of the process, so a provider that is down never stops the app from starting.

What is ours: which login a verified e-mail becomes (`SSOBackend.get_or_create_user`, writing
through accounts/services.py), the leader role from the group claim, the checks the library
leaves out (the ID token's audience, issuer and required claims), and a clear page for every
way a sign-in can fail (accounts/views.py renders `SignInRefused`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import selectors, services
from products.models import Person

DISCOVERY_PATH = "/.well-known/openid-configuration"

# The library's setting names, answered from our settings or from the discovery document.
# OIDC_CLIENT_ID and friends keep the names of their environment variables (portfolio/settings.py).
_FROM_OUR_SETTINGS = {
    "OIDC_RP_CLIENT_ID": "OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "OIDC_CLIENT_SECRET",
    "OIDC_RP_SCOPES": "OIDC_SCOPES",
}
# The ID token's signature: RS256 with the provider's published keys.
SIGN_ALGO = "RS256"
_FIXED: dict[str, Any] = {
    "OIDC_RP_SIGN_ALGO": SIGN_ALGO,
    "OIDC_RP_IDP_SIGN_KEY": None,  # the key comes from the provider's JWKS
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_USE_NONCE": True,
    "OIDC_STORE_ID_TOKEN": True,  # the hint for ending the provider's session at logout
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
}
_FROM_DISCOVERY = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be fetched or makes no sense."""


class SignInRefused(Exception):
    """A sign-in through the provider that must not go on; the page says why."""

    def __init__(self, reason: str, message: str, *, status: int = 403, **context: Any):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.context = context


def enabled() -> bool:
    """Single sign-on is on when an issuer and a client id are configured."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def local_login_allowed() -> bool:
    return bool(settings.LOCAL_LOGIN)


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or "single sign-on"


@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document the sign-in uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str


_providers: dict[str, Provider] = {}
_lock = threading.Lock()


def provider() -> Provider:
    """The configured provider's endpoints, discovered on first use and kept in the process."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    found = _providers.get(issuer)
    if found is None:
        with _lock:
            found = _providers.get(issuer) or _discover(issuer)
            _providers[issuer] = found
    return found


def forget_provider() -> None:
    """Drop what discovery found (the tests change providers; so does a settings change)."""
    _providers.clear()


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("OIDC_"):
        forget_provider()


def _discover(issuer: str) -> Provider:
    url = issuer + DISCOVERY_PATH
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        doc = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProviderUnavailable(f"{url}: not a discovery document")
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer asked.
        raise ProviderUnavailable(f"{url}: the document names issuer {doc.get('issuer')!r}")
    missing = [k for k in _FROM_DISCOVERY.values() if not doc.get(k)]
    if missing:
        raise ProviderUnavailable(f"{url}: no {', '.join(missing)}")
    return Provider(
        issuer=str(doc["issuer"]),
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        userinfo_endpoint=doc["userinfo_endpoint"],
        jwks_uri=doc["jwks_uri"],
        end_session_endpoint=doc.get("end_session_endpoint") or "",
    )


def setting(attr: str, *default: Any) -> Any:
    """The library's `get_settings`: its names answered from ours and from discovery."""
    if attr in _FIXED:
        return _FIXED[attr]
    if attr in _FROM_OUR_SETTINGS:
        return getattr(settings, _FROM_OUR_SETTINGS[attr])
    if attr in _FROM_DISCOVERY:
        return getattr(provider(), _FROM_DISCOVERY[attr])
    if default:
        return getattr(settings, attr, default[0])
    return getattr(settings, attr)


def provider_logout_url(request: HttpRequest, *, post_logout_redirect_uri: str) -> str:
    """Where to send the browser to end the provider's session too ("" for a local logout).

    Only for a session that signed in through the provider, and only when the provider
    publishes an `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0)."""
    id_token = request.session.get("oidc_id_token")
    if not (enabled() and id_token):
        return ""
    try:
        endpoint = provider().end_session_endpoint
    except ProviderUnavailable:
        return ""
    if not endpoint:
        return ""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": settings.OIDC_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


class SSOBackend(OIDCAuthenticationBackend):
    """Turns a verified sign-in at the provider into one of our logins.

    Listed in AUTHENTICATION_BACKENDS always; it answers only the provider's callback, and only
    while single sign-on is configured."""

    get_settings = staticmethod(setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads every endpoint here; Django builds a backend for each request
        # that has a session, so the endpoints are read when a sign-in needs them.
        self.UserModel = get_user_model()

    def get_user(self, user_id: Any) -> Any:
        """The login of a session that signed in here; none once the login is switched off or
        its person has left, so such a session ends at its next request."""
        user = (
            self.UserModel._default_manager.select_related("person")
            .filter(pk=user_id, is_active=True)
            .first()
        )
        person = getattr(user, "person", None) if user is not None else None
        if person is not None and (not person.active or person.departed_on is not None):
            return None
        return user

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # Only the callback view's call (it passes the nonce and PKCE verifier it kept); a
        # password sign-in is none of this backend's business.
        if request is None or not enabled() or "nonce" not in kwargs:
            return None
        found = provider()
        self.OIDC_OP_TOKEN_ENDPOINT = found.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = found.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = found.jwks_uri
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.issuer = found.issuer
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The signature, and what the library leaves out: audience, issuer, required claims.

        PyJWT checks `exp` (and `iat`, `nbf` when present); a token that fails any check ends
        the sign-in with its own page."""
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.InvalidTokenError as exc:
            raise SignInRefused("bad_token", "The provider's answer was not readable.") from exc
        if header.get("alg") != SIGN_ALGO:
            raise SignInRefused(
                "bad_token", "The provider signed its answer in a way we do not accept."
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=settings.OIDC_CLOCK_LEEWAY,
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(
                "expired_token",
                "The provider's confirmation of who you are had already expired when it "
                "arrived. Sign in again; if this keeps happening, the clocks of the two "
                "servers may disagree.",
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(
                "bad_token", "The provider's confirmation of who you are did not check out."
            ) from exc
        return claims

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = super().verify_token(token, **kwargs)
        except SuspiciousOperation as exc:  # nonce mismatch, no matching key
            raise SignInRefused(
                "bad_token", "The provider's confirmation of who you are did not check out."
            ) from exc
        self.id_claims = payload
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 1.0, 5.3.2: the userinfo must be about the token's subject.
            raise SignInRefused("bad_token", "The provider answered about someone else.")
        claims = {**payload, **userinfo}
        email = str(claims.get("email") or "").strip()
        if not email:
            raise SignInRefused(
                "no_email",
                "The provider did not tell us your e-mail address, so we cannot tell who you "
                "are. Ask whoever runs sign-in at your organisation to release the e-mail "
                "claim to this application.",
            )
        if claims.get("email_verified") is False or claims.get("email_verified") == "false":
            raise SignInRefused(
                "unverified_email",
                f"The provider has not confirmed that {email} is yours, so we cannot use it "
                "to sign you in.",
            )
        return self.login_for(email=email, claims=claims)

    def login_for(self, *, email: str, claims: dict[str, Any]) -> Any:
        """The login for a verified e-mail: the Person's, created or linked as needed."""
        people = list(Person.objects.filter(email__iexact=email).select_related("user"))
        if len(people) > 1:
            raise SignInRefused(
                "ambiguous",
                f"More than one person in the portfolio has the e-mail address {email}.",
                **_whom_to_ask(),
            )
        if not people:
            if not settings.OIDC_CREATE_USERS:
                raise SignInRefused(
                    "unknown",
                    f"Nobody with the e-mail address {email} is in the portfolio yet.",
                    **_whom_to_ask(),
                )
            user = services.sso_person_create(
                email=email, name=_display_name(claims, email), subject=str(claims["sub"])
            )
        else:
            person = people[0]
            if not person.active or person.departed_on is not None:
                raise SignInRefused(
                    "departed",
                    f"{person.name} is recorded as having left, so this login is closed.",
                    **_whom_to_ask(),
                )
            if person.user is not None and not person.user.is_active:
                raise SignInRefused(
                    "inactive",
                    f"The login of {person.name} is switched off.",
                    **_whom_to_ask(),
                )
            user = services.sso_login_link(person=person)
        if settings.OIDC_LEADER_GROUP:
            services.sso_leader_role_sync(
                user=user, leader=settings.OIDC_LEADER_GROUP in _groups(claims)
            )
        return user


def _display_name(claims: dict[str, Any], email: str) -> str:
    name = str(claims.get("name") or "").strip()
    if not name:
        name = " ".join(
            str(claims.get(k) or "").strip() for k in ("given_name", "family_name")
        ).strip()
    return name or email.split("@", 1)[0]


def _whom_to_ask() -> dict[str, Any]:
    return {
        "ask": True,
        "help_contact": settings.OIDC_HELP_CONTACT,
        "leader_names": [] if settings.OIDC_HELP_CONTACT else selectors.leader_names(),
    }
