"""How the sign-in lockout (django-axes) sees a client: its address, read safely behind proxies.

django-axes counts failed sign-ins per username and per address (settings: AXES_*). Behind a
reverse proxy every request arrives from the proxy's own address, so counting per
`REMOTE_ADDR` would lock everyone out together; trusting any `X-Forwarded-For` would let a
client choose a fresh address for every guess. With `TRUSTED_PROXY_COUNT` proxies in front,
each appends the address it received the request from, so the client's address is the
entry that many places from the right: what the outermost trusted proxy saw. Entries further
left were written by the client and are ignored. The application port must therefore be
reachable only through the proxies (as gunicorn's FORWARDED_ALLOW_IPS assumes too).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address lockouts count for `request` (AXES_CLIENT_IP_CALLABLE)."""
    own = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return own
    chain = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if len(chain) < proxies:
        # Not every proxy added its entry: the request did not come the way it should.
        return own
    return _address(chain[-proxies]) or own


def not_a_password_sign_in(request: HttpRequest, credentials: dict | None = None) -> bool:
    """Leave sign-ins without a password (single sign-on) out of the lockout
    (AXES_WHITELIST_CALLABLE): the identity provider guards those, and a locked address must not
    stop a colleague behind the same gateway from signing in through it."""
    return not (credentials or {}).get("password")
