"""An https endpoint: the sender connects to the address the guard checked and still checks
the certificate against the URL's host name (SNI and verification), so pinning the address
does not weaken TLS."""

from __future__ import annotations

import ssl
import subprocess

import pytest
import urllib3

from tests.webhooks.receiver import Receiver
from webhooks import sender


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for `localhost` (and only that name)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture
def tls_receiver(certificate, monkeypatch):
    key, cert = certificate
    receiver = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    # The sender trusts this certificate only (as it trusts the system's CAs in production).
    monkeypatch.setattr(sender, "_manager", urllib3.PoolManager(ca_certs=str(cert), retries=False))
    with receiver:
        yield receiver


def test_https_is_verified_against_the_url_host_while_connecting_to_the_checked_address(
    tls_receiver,
):
    port = tls_receiver.server.server_port

    ok = sender.post(url=f"https://localhost:{port}/hook", body=b"{}", secret="s" * 20, headers={})
    # The same server under a name its certificate does not carry is refused.
    wrong = sender.post(
        url=f"https://127.0.0.1:{port}/hook", body=b"{}", secret="s" * 20, headers={}
    )

    assert ok.ok and ok.status == 200, ok.error
    assert tls_receiver.requests[0].headers["Host"] == f"localhost:{port}"
    assert not wrong.ok and wrong.status is None
    assert len(tls_receiver.requests) == 1
