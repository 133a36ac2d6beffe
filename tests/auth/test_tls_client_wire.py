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


def test_info_asks_for_tls_and_the_session_runs_inside_it(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block())
    with TLSWire(server.port, certs.client_context()) as client:
        assert client.info["tls_required"] is True
        assert "tls_verify" not in client.info
        assert "tls_available" not in client.info
        assert client.sock.version() == "TLSv1.3"
        client.sock.sendall(b'CONNECT {"verbose":false}\r\n')
        assert client.exchange(b"SUB a 1\r\nPUB a 2\r\nhi\r\n") == b"MSG a 1 2\r\nhi\r\nPONG\r\n"


def test_a_plain_text_client_gets_the_info_then_a_close(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block())
    first, rest, _ = plain_info_then_close(server.port, b'CONNECT {"verbose":false}\r\nPING\r\n')
    assert first.startswith(b"INFO ") and b'"tls_required":true' in first
    assert rest == b""


def test_a_client_that_never_starts_the_handshake_is_closed_after_the_tls_timeout(server_kind, server_factory,
                                                                                   certs):
    server = server_factory(server_kind, certs.tls_block(timeout="0.5"))
    first, rest, elapsed = plain_info_then_close(server.port)
    assert first.startswith(b"INFO ") and rest == b""
    assert 0.4 < elapsed < 1.5


@pytest.mark.parametrize("client, refused", [("alice", ""), ("stranger", "failed to verify certificate"),
                                             (None, "TLS handshake error")],
                         ids=["trusted-cert", "untrusted-cert", "no-cert"])
def test_verify_asks_for_a_certificate_from_the_ca(server_kind, server_factory, certs, client, refused):
    server = server_factory(server_kind, certs.tls_block(verify="true"))
    context = certs.client_context()
    if client is not None:
        context.load_cert_chain(certs.path(f"{client}.pem"), certs.path(f"{client}-key.pem"))
    with TLSWire(server.port, context) as wire:
        assert wire.info["tls_verify"] is True
        if not refused:
            assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
            return
        # TLS 1.3: the client finishes its side first; the refusal (an alert) and the close come after.
        wire.sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert wire.read_to_close() == b""
    assert "TLS handshake error: " in wait_for_log(server, refused)


@pytest.mark.parametrize("client, accepted", [("alice", True), ("bob", False)], ids=["pinned", "not-pinned"])
def test_pinned_certs_accept_only_the_listed_keys(server_kind, server_factory, certs, client, accepted):
    server = server_factory(server_kind, certs.tls_block(verify="true", pinned_certs=f'["{certs.pin("alice")}"]'))
    with TLSWire(server.port, certs.client_context(client)) as wire:
        if accepted:
            assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
            return
        wire.sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert wire.read_to_close() == b""
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


MAPPED_USERS = {
    "email": '{ user: "alice@example.com", permissions: { publish: "site.alice.>" } }',
    "dns": '{ user: "dev1.example.com", permissions: { publish: "site.alice.>" } }',
    "dn": '{ user: "CN=alice,OU=Edge,O=Acme", permissions: { publish: "site.alice.>" } }',
    "dn-reordered": '{ user: "O=Acme, OU=Edge, CN=alice", permissions: { publish: "site.alice.>" } }',
}


@pytest.mark.parametrize("named_by", list(MAPPED_USERS))
def test_verify_and_map_logs_in_as_the_user_the_certificate_names(server_kind, server_factory, certs, named_by):
    config = certs.tls_block(verify_and_map="true") + f"""
    authorization {{ users: [ {MAPPED_USERS[named_by]}, {{ user: other, password: other }} ] }}
    """
    server = server_factory(server_kind, config)
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.info["auth_required"] is True and wire.info["tls_verify"] is True
        # The user in CONNECT is not who the client is: the certificate is.
        assert wire.exchange(b'CONNECT {"verbose":false,"user":"other"}\r\nSUB > 1\r\n'
                             b"PUB site.alice.x 1\r\n1\r\nPUB site.bob.x 1\r\n2\r\n") == (
            b"MSG site.alice.x 1 1\r\n1\r\n-ERR 'Permissions Violation for Publish to \"site.bob.x\"'\r\nPONG\r\n"
        )


def test_verify_and_map_refuses_a_certificate_that_names_no_user(server_kind, server_factory, certs):
    config = certs.tls_block(verify_and_map="true") + 'authorization { users: [ { user: "CN=dev7,O=Acme" } ] }'
    server = server_factory(server_kind, config)
    with TLSWire(server.port, certs.client_context("dev7")) as wire:
        wire.sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert wire.read_to_close() == b"-ERR 'Authorization Violation'\r\n"


def test_the_auth_timeout_with_tls_is_the_tls_timeout_and_one_second(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(timeout="0.2") + "authorization { token: t0k3n }")
    with TLSWire(server.port, certs.client_context()) as wire:
        started = time.monotonic()
        assert wire.read_to_close() == b"-ERR 'Authentication Timeout'\r\n"
        assert 1.0 < time.monotonic() - started < 1.7


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
