"""What /varz and /connz say of TLS on the client port, on both brokers: the TLS settings and the server
certificate's expiry, and each TLS connection's version and cipher suite.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from servers import free_port
from tls_client_certs import TLSWire, make_certificates

TLS_1_3_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-monitor"))


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
