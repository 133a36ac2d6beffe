"""TLS on the client port, byte for byte against both brokers: the INFO's TLS fields, the upgrade after INFO
(or TLS first), what a client that does not speak TLS gets, client certificates (verify, pinned_certs,
min_version) and the users verify_and_map finds by a certificate's SANs or subject.
"""

from __future__ import annotations

import signal
import ssl
import time

import pytest
from tls_client_certs import TLSWire, make_certificates, plain_info_then_close, wait_for_log


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-wire"))


def test_only_a_client_that_starts_tls_gets_past_the_info(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(timeout="0.5"))
    with TLSWire(server.port, certs.client_context()) as client:
        assert client.info["tls_required"] is True
        assert "tls_verify" not in client.info
        assert "tls_available" not in client.info
        assert client.sock.version() == "TLSv1.3"
        client.sock.sendall(b'CONNECT {"verbose":false}\r\n')
        assert client.exchange(b"SUB a 1\r\nPUB a 2\r\nhi\r\n") == b"MSG a 1 2\r\nhi\r\nPONG\r\n"
    # Plain text: the INFO, then a close and nothing else.
    first, rest, _ = plain_info_then_close(server.port, b'CONNECT {"verbose":false}\r\nPING\r\n')
    assert first.startswith(b"INFO ") and b'"tls_required":true' in first
    assert rest == b""
    # Silence: the same, once the TLS timeout has passed.
    first, rest, elapsed = plain_info_then_close(server.port)
    assert first.startswith(b"INFO ") and rest == b""
    assert 0.4 < elapsed < 1.5


def refused_after_handshake(wire: TLSWire) -> bytes:
    """What a client whose certificate the server refuses reads: with TLS 1.3 the client finishes its side
    first, and the refusal (an alert) and the close come after."""
    wire.sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
    return wire.read_to_close()


def test_verify_asks_for_a_certificate_from_the_ca(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(verify="true"))
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.info["tls_verify"] is True
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    with TLSWire(server.port, certs.client_context("stranger")) as wire:
        assert refused_after_handshake(wire) == b""
    assert "TLS handshake error: " in wait_for_log(server, "failed to verify certificate")
    with TLSWire(server.port, certs.client_context()) as wire:
        assert refused_after_handshake(wire) == b""
    wait_for_log(server, "TLS handshake error: ", times=2)


def test_pinned_certs_accept_only_the_listed_keys(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(verify="true", pinned_certs=f'["{certs.pin("alice")}"]'))
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    with TLSWire(server.port, certs.client_context("bob")) as wire:
        assert refused_after_handshake(wire) == b""
    wait_for_log(server, "TLS handshake error: certificate not pinned")


def test_min_version_refuses_older_clients(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(min_version='"1.3"'))
    with pytest.raises(ssl.SSLError):
        TLSWire(server.port, certs.client_context(maximum=ssl.TLSVersion.TLSv1_2))
    wait_for_log(server, "TLS handshake error: ")
    with TLSWire(server.port, certs.client_context()) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"


def test_handshake_first_sends_the_info_inside_tls(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(handshake_first="true", timeout="0.5"))
    with TLSWire(server.port, certs.client_context(), tls_first=True) as wire:
        assert wire.info["tls_required"] is True
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    # A client waiting for a plain INFO gets nothing, and is closed at the TLS timeout.
    first, rest, elapsed = plain_info_then_close(server.port)
    assert (first, rest) == (b"", b"")
    assert 0.4 < elapsed < 1.5


def test_handshake_first_with_a_fallback_delay_takes_both_kinds_of_client(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(handshake_first='"300ms"'))
    with TLSWire(server.port, certs.client_context(), tls_first=True) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    started = time.monotonic()
    with TLSWire(server.port, certs.client_context()) as wire:
        # The INFO came in plain text once the client had said nothing for 300 ms.
        assert 0.25 < time.monotonic() - started < 1.0
        assert wire.info["tls_required"] is True
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"


MAPPED_USERS = """
authorization { users: [
  { user: "alice@example.com", permissions: { publish: "by.email" } }
  { user: "dev1.example.com", permissions: { publish: "by.dns" } }
  { user: "dev7.example.com", permissions: { publish: "by.dns" } }
  { user: "O=Acme, OU=Edge, CN=bob", permissions: { publish: "by.dn" } }
  { user: "CN=carol,O=Acme" }
  { user: other, password: other }
] }
"""


def test_verify_and_map_logs_in_as_the_user_the_certificate_names(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(verify_and_map="true") + MAPPED_USERS)
    # alice's e-mail SAN wins over her DNS SAN; dev7 has a DNS SAN; bob is known by his subject DN only.
    for client, allowed in (("alice", "by.email"), ("dev7", "by.dns"), ("bob", "by.dn")):
        with TLSWire(server.port, certs.client_context(client)) as wire:
            assert wire.info["auth_required"] is True and wire.info["tls_verify"] is True
            # The user in CONNECT is not who the client is: the certificate is.
            output = wire.exchange(b'CONNECT {"verbose":false,"user":"other"}\r\nSUB > 1\r\n'
                                   b"PUB by.email 1\r\nx\r\nPUB by.dns 1\r\nx\r\nPUB by.dn 1\r\nx\r\n")
        expected = [b"MSG %s 1 1\r\nx\r\n" % subject.encode() if subject == allowed
                    else b"-ERR 'Permissions Violation for Publish to \"%s\"'\r\n" % subject.encode()
                    for subject in ("by.email", "by.dns", "by.dn")]
        assert output == b"".join(expected) + b"PONG\r\n", client
    # carol's certificate is trusted but names no user (her DN has an OU the configured one lacks).
    with TLSWire(server.port, certs.client_context("carol")) as wire:
        wire.sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert wire.read_to_close() == b"-ERR 'Authorization Violation'\r\n"


def test_the_auth_timeout_with_tls_is_the_tls_timeout_and_one_second(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(timeout="0.2") + "authorization { token: t0k3n }")
    with TLSWire(server.port, certs.client_context()) as wire:
        started = time.monotonic()
        assert wire.read_to_close() == b"-ERR 'Authentication Timeout'\r\n"
        # Without TLS it would be the 2 s default.
        assert 1.0 < time.monotonic() - started < 1.9


def test_a_reload_that_unpins_a_certificate_closes_its_clients(server_kind, server_factory, certs):
    pinned = certs.tls_block(verify="true", pinned_certs=f'["{certs.pin("alice")}", "{certs.pin("bob")}"]')
    server = server_factory(server_kind, pinned)
    with TLSWire(server.port, certs.client_context("alice")) as alice, \
            TLSWire(server.port, certs.client_context("bob")) as bob:
        for client in (alice, bob):
            assert client.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
        server.config_path.write_text(certs.tls_block(verify="true", pinned_certs=f'["{certs.pin("alice")}"]'))
        server.process.send_signal(signal.SIGHUP)
        assert bob.read_to_close() == b""
        wait_for_log(server, "Disconnect 1 clients due to pinned certs reload")
        assert alice.exchange(b"") == b"PONG\r\n"


def test_over_the_connection_limit_the_refusal_comes_in_plain_text(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block() + "max_connections: 1")
    with TLSWire(server.port, certs.client_context()) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
        first, rest, _ = plain_info_then_close(server.port)
        assert first.startswith(b"INFO ") and b'"tls_required":true' in first
        assert rest == b"-ERR 'maximum connections exceeded'\r\n"
