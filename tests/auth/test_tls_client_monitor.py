"""What /varz and /connz say of TLS on the client port, on both brokers: the TLS settings and the server
certificate's expiry, and each TLS connection's version and cipher suite, and with auth its client's
certificates.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from servers import free_port
from tls_client_certs import TLSWire, make_certificates

TLS_1_3_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-monitor"))


def peer_cert(pem_file: Path) -> dict:
    certificate = x509.load_pem_x509_certificate(pem_file.read_bytes())
    info = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"subject": certificate.subject.rfc4514_string(), "spki_sha256": hashlib.sha256(info).hexdigest(),
            "cert_sha256": hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()}


def monitor(server, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}{path}", timeout=5) as response:
        return json.load(response)


def test_varz_and_connz_report_tls(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(verify="true", timeout="0.7"),
                            extra_args=["-m", str(free_port())])
    varz = monitor(server, "/varz")
    assert (varz["tls_required"], varz["tls_verify"], varz["tls_timeout"]) == (True, True, 0.7)
    # trustme's certificates are valid until the year 3000.
    assert varz["tls_cert_not_after"] == "3000-01-01T00:00:00Z"
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false,"name":"tls-client"}\r\n') == b"PONG\r\n"
        [connection] = [c for c in monitor(server, "/connz")["connections"] if c.get("name") == "tls-client"]
    assert connection["tls_version"] == "1.3"
    assert connection["tls_cipher_suite"] in TLS_1_3_SUITES


def test_varz_without_tls_reports_the_default_timeout(server_kind, server_factory):
    server = server_factory(server_kind, extra_args=["-m", str(free_port())])
    varz = monitor(server, "/varz")
    assert varz["tls_timeout"] == 2
    assert not {"tls_required", "tls_verify", "tls_cert_not_after"} & varz.keys()


def test_connz_with_auth_lists_the_client_certificates(server_kind, server_factory, certs):
    """`tls_peer_certs`: every certificate the client sent (its own, then the CA its context holds, which
    OpenSSL sends along), with subject, SHA-256 of the public key info and of the certificate."""
    server = server_factory(server_kind, certs.tls_block(verify="true"), extra_args=["-m", str(free_port())])
    expected = [peer_cert(Path(certs.path("alice.pem"))), peer_cert(Path(certs.path("ca.pem")))]
    assert expected[0]["subject"] == "CN=alice,OU=Edge,O=Acme"
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false,"name":"tls-client"}\r\n') == b"PONG\r\n"
        [with_auth] = [c for c in monitor(server, "/connz?auth=true")["connections"] if c.get("name") == "tls-client"]
        [plain] = [c for c in monitor(server, "/connz")["connections"] if c.get("name") == "tls-client"]
    assert with_auth["tls_peer_certs"] == expected
    assert "tls_peer_certs" not in plain
