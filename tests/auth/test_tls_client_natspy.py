"""nats-py with its own TLS options against both brokers' TLS client port: the classic upgrade, TLS first,
a client certificate mapped to a user whose permissions then apply, and a SIGHUP that renews the server
certificate (new connections get the new one, open ones go on).
"""

from __future__ import annotations

import asyncio
import signal
import ssl

import nats
import pytest
from nats.errors import NoServersError
from tls_client_certs import TLSWire, make_certificates, wait_for_log


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-natspy"))


async def echo_round_trip(nc) -> bytes:
    async def echo(msg):
        await msg.respond(b"echo:" + msg.data)

    await nc.subscribe("svc.echo", cb=echo)
    return (await nc.request("svc.echo", b"hi", timeout=2)).data


@pytest.mark.parametrize("handshake_first, client_modes", [
    (None, (False,)), ("true", (True,)), ('"auto"', (True, False)),
], ids=["upgrade-after-info", "tls-first", "tls-first-auto"])
async def test_nats_py_talks_over_tls(server_kind, server_factory, certs, handshake_first, client_modes):
    block = certs.tls_block(handshake_first=handshake_first) if handshake_first else certs.tls_block()
    server = server_factory(server_kind, block)
    # With `auto`, a client doing TLS first and one waiting for the INFO both get in.
    for client_first in client_modes:
        nc = await nats.connect(server.url, tls=certs.client_context(), tls_handshake_first=client_first,
                                allow_reconnect=False)
        assert await echo_round_trip(nc) == b"echo:hi"
        await nc.close()


async def test_nats_py_without_our_ca_cannot_connect(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block())
    with pytest.raises((NoServersError, ssl.SSLError, OSError)):
        await nats.connect(server.url, tls=ssl.create_default_context(), allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=2)


async def test_a_mapped_user_gets_its_permissions(server_kind, server_factory, certs):
    config = certs.tls_block(verify_and_map="true") + """
    authorization { users: [
      { user: "alice@example.com", permissions: { publish: ["site.alice.>", "_INBOX.>"], subscribe: "_INBOX.>" } }
    ] }
    """
    server = server_factory(server_kind, config)
    errors: asyncio.Queue = asyncio.Queue()

    async def on_error(error):
        await errors.put(str(error))

    nc = await nats.connect(server.url, tls=certs.client_context("alice"), error_cb=on_error, allow_reconnect=False)
    await nc.publish("site.bob.reading", b"1")
    assert await asyncio.wait_for(errors.get(), 2) == 'nats: permissions violation for publish to "site.bob.reading"'
    await nc.subscribe("site.>")
    assert await asyncio.wait_for(errors.get(), 2) == 'nats: permissions violation for subscription to "site.>"'
    await nc.close()


async def test_sighup_renews_the_certificate_for_new_connections(server_kind, server_factory, certs):
    first = certs.issue_server_certificate("renewed.pem", "renewed-key.pem")
    config = certs.tls_block(cert_file=f'"{certs.path("renewed.pem")}"', key_file=f'"{certs.path("renewed-key.pem")}"')
    server = server_factory(server_kind, config)
    open_connection = await nats.connect(server.url, tls=certs.client_context(), allow_reconnect=False)
    with TLSWire(server.port, certs.client_context()) as wire:
        assert wire.sock.getpeercert(binary_form=True) == first
    second = certs.issue_server_certificate("renewed.pem", "renewed-key.pem")
    server.process.send_signal(signal.SIGHUP)
    wait_for_log(server, "Reloaded server configuration")
    with TLSWire(server.port, certs.client_context()) as wire:
        assert wire.sock.getpeercert(binary_form=True) == second
    assert await echo_round_trip(open_connection) == b"echo:hi"
    await open_connection.close()
