"""The operator CLI on a TLS client port, against both brokers: --tlsca trusts the server's CA, a client
certificate goes with --tlscert/--tlskey (or NATS_CA/NATS_CERT/NATS_KEY), and an untrusted server
certificate is one line that says what to give."""

from __future__ import annotations

import re

import pytest
import trustme
from operator_cli import run_cli


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    client = ca.issue_cert("operator@example.com")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client-cert.pem"))
    client.private_key_pem.write_to_path(str(folder / "client-key.pem"))
    return folder


@pytest.fixture
def tls_server(server_kind, server_factory, pki):
    server = pki / "server.pem"
    return server_factory(server_kind, config=f'tls {{ cert_file: "{server}", key_file: "{server}", '
                                              f'ca_file: "{pki / "ca.pem"}", verify: true }}\n')


def test_a_client_certificate_and_the_ca_publish(tls_server, pki):
    done = run_cli("-s", f"tls://127.0.0.1:{tls_server.port}", "--tlsca", str(pki / "ca.pem"),
                   "--tlscert", str(pki / "client-cert.pem"), "--tlskey", str(pki / "client-key.pem"),
                   "pub", "site.reading", "21.5")

    assert done.returncode == 0, done.stderr
    assert done.stderr == 'Published 4 bytes to "site.reading"\n'


def test_the_tls_files_come_from_the_environment_too(tls_server, pki, monkeypatch):
    monkeypatch.setenv("NATS_CA", str(pki / "ca.pem"))
    monkeypatch.setenv("NATS_CERT", str(pki / "client-cert.pem"))
    monkeypatch.setenv("NATS_KEY", str(pki / "client-key.pem"))

    done = run_cli("-s", f"127.0.0.1:{tls_server.port}", "pub", "site.reading", "x")

    assert done.returncode == 0, done.stderr


def test_an_untrusted_server_certificate_says_to_give_its_ca(tls_server, pki):
    done = run_cli("-s", f"tls://127.0.0.1:{tls_server.port}", "--tlscert", str(pki / "client-cert.pem"),
                   "--tlskey", str(pki / "client-key.pem"), "pub", "site.reading", "x")

    assert done.returncode == 1
    # OpenSSL's reason depends on whether the server sends its CA along with its certificate.
    assert re.fullmatch(rf"edgenats: error: cannot connect to tls://127\.0\.0\.1:{tls_server.port}: the server's TLS "
                        r"certificate is not trusted \((unable to get local issuer certificate|self-signed "
                        r"certificate in certificate chain)\): give its CA with --tlsca\n", done.stderr)
