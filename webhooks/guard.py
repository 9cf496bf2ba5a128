"""The SSRF guard: a webhook may only go to a public address.

A URL is refused when it is not http(s), or when its host resolves to a loopback,
link-local, private, multicast, reserved or unspecified address, unless that address lies in
one of the networks of WEBHOOK_ALLOWED_NETWORKS (CIDRs; empty by default, 127.0.0.0/8 in the
tests). It is checked when an endpoint is saved and again, with a fresh DNS lookup, at each
send; the sender then connects to the very address checked (webhooks/sender.py), so a name
that changes its answer between the check and the connection cannot reach inside.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

from portfolio.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


class UnsafeURL(DomainError):
    """A webhook URL the guard refuses: 400 naming `url`, with the rule."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, rule: str):
        super().__init__(message, field="url", rule=rule)


@lru_cache(maxsize=8)
def _networks(
    raw: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in raw)


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))


def _forbidden_kind(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _forbidden_kind(ip.ipv4_mapped)
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None


def check_address(ip: IPAddress, host: str) -> None:
    kind = _forbidden_kind(ip)
    if kind is None or any(ip in network for network in allowed_networks()):
        return
    raise UnsafeURL(
        f"{host} resolves to {ip}, a {kind} address: webhooks go to public addresses only "
        "(WEBHOOK_ALLOWED_NETWORKS lists the exceptions).",
        rule="webhook_url_not_public",
    )


def split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or UnsafeURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("Give a valid URL.", rule="webhook_url_invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeURL(
            f"Webhooks are sent over http or https only, not {scheme or 'no scheme'}.",
            rule="webhook_url_scheme",
        )
    if not parts.hostname:
        raise UnsafeURL("Give the URL's host.", rule="webhook_url_invalid")
    if parts.username or parts.password:
        raise UnsafeURL(
            "Leave credentials out of the URL; the signature authenticates the sender.",
            rule="webhook_url_invalid",
        )
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def resolve(url: str) -> tuple[str, str, int, list[IPAddress]]:
    """Check `url` and look its host up now: (scheme, host, port, addresses), every address
    allowed; UnsafeURL otherwise."""
    scheme, host, port = split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # gaierror is an OSError
        raise UnsafeURL(
            f"{host} does not resolve ({exc}).", rule="webhook_url_unresolvable"
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    for ip in addresses:
        check_address(ip, host)
    return scheme, host, port, addresses
