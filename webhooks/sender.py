"""The HTTP side of a delivery: one POST, signed, to the address the guard just checked.

One urllib3 pool manager per worker process keeps connections to each receiver open between
deliveries (keep-alive), which is most of the fan-out's speed. The connection goes to the
checked IP address itself, with the URL's host in `Host` (and, for https, in SNI and the
certificate check), so DNS is asked once per send and its answer is the one used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from webhooks import guard
from webhooks.signing import signature

USER_AGENT = "Portfolio-Webhooks/1"
# Enough of a receiver's answer to show in the delivery log; the rest is not read.
MAX_ANSWER = 64 * 1024

_manager: urllib3.PoolManager | None = None


def manager() -> urllib3.PoolManager:
    global _manager
    if _manager is None:
        # One kept-alive connection per send thread and receiver.
        _manager = urllib3.PoolManager(
            num_pools=100, maxsize=settings.WEBHOOK_SEND_THREADS, block=False, retries=False
        )
    return _manager


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    duration_ms: int = 0


def post(*, url: str, body: bytes, secret: str, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` signed with `secret`; 2xx is success. Never raises for the
    receiver's or the network's faults: they are the outcome."""
    started = time.monotonic()

    def done(ok: bool, status: int | None = None, error: str = "") -> Outcome:
        return Outcome(ok, status, error[:500], int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port, addresses = guard.resolve(url)
    except guard.UnsafeURL as exc:
        return done(False, error=f"Refused: {exc.message}")
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and port != default_port:
        host_header = f"[{host}]:{port}"
    pool_kwargs = {"server_hostname": host, "assert_hostname": host} if scheme == "https" else {}
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT, read=settings.WEBHOOK_TIMEOUT)
    all_headers = {
        **headers,
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portfolio-Signature": signature(secret, body),
    }
    try:
        pool = manager().connection_from_host(
            str(addresses[0]), port=port, scheme=scheme, pool_kwargs=pool_kwargs
        )
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=all_headers,
            retries=False,
            redirect=False,
            timeout=timeout,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return done(False, error=f"{type(exc).__name__}: {exc}")
    try:
        response.read(MAX_ANSWER)
        more = response.read(1)
    except urllib3.exceptions.HTTPError:
        more = b"?"
    if more:  # an answer too long to read, or broken: this connection is not reused
        response.close()
    else:
        response.release_conn()
    ok = 200 <= response.status < 300
    return done(ok, response.status, "" if ok else f"The receiver answered {response.status}.")
