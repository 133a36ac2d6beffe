"""Memory at rest, as a user sees it in /proc/<pid>: the broker started without TLS does not map OpenSSL
(libssl, libcrypto), one with TLS does and serves it; an idle broker as installed (its bytecode compiled,
as pip installs it) stays under 20 MB of RSS, and under 40 MB with 5,000 idle connections."""

from __future__ import annotations

import compileall
import shutil
import socket
import ssl
from pathlib import Path

import nats
import pytest
import trustme
from edgenats.bench.idle_connections import raise_open_files_limit
from servers import start_server

MB = 1 << 20
PACKAGE = Path(__file__).resolve().parents[2] / "server" / "edgenats"
IDLE_LIMIT = 20 * MB
CONNECTIONS = 5000
CONNECTIONS_LIMIT = 40 * MB
OPENSSL = ("libssl.so", "libcrypto.so")


def mapped_libraries(pid: int) -> set[str]:
    libraries = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1]
        if ".so" in path:
            libraries.add(path.rsplit("/", 1)[-1])
    return libraries


def maps_openssl(pid: int) -> bool:
    return any(library.startswith(OPENSSL) for library in mapped_libraries(pid))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The environment of a broker run from a copy of the package with its bytecode compiled."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(PACKAGE, site / "edgenats", ignore=shutil.ignore_patterns("__pycache__"))
    assert compileall.compile_dir(site / "edgenats", quiet=1)
    return {"PYTHONPATH": str(site)}


async def test_a_broker_without_tls_does_not_map_openssl(tmp_path):
    server = start_server("edgenats", tmp_path)
    try:
        nc = await nats.connect(server.url)
        await nc.flush()
        await nc.close()
        assert not maps_openssl(server.pid), sorted(mapped_libraries(server.pid))
    finally:
        server.stop()


async def test_a_broker_with_tls_maps_openssl_and_a_tls_client_connects(tmp_path):
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_and_cert_chain_pem.write_to_path(tmp_path / "server.pem")
    config = f'tls {{ cert_file: "{tmp_path / "server.pem"}", key_file: "{tmp_path / "server.pem"}" }}\n'
    context = ssl.create_default_context()
    authority.configure_trust(context)
    server = start_server("edgenats", tmp_path, config)
    try:
        nc = await nats.connect(server.url, tls=context, tls_hostname="127.0.0.1")
        subscription = await nc.subscribe("over.tls")
        await nc.publish("over.tls", b"sealed")
        message = await subscription.next_msg(timeout=2)
        await nc.close()
        assert maps_openssl(server.pid)
    finally:
        server.stop()
    assert message.data == b"sealed"


def test_an_idle_installed_broker_stays_under_20_mb(tmp_path, installed):
    server = start_server("edgenats", tmp_path, env=installed)
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(b"CONNECT {}\r\nPING\r\n")
            assert wait_for_pong(client)
        rss = rss_bytes(server.pid)
    finally:
        server.stop()
    assert rss < IDLE_LIMIT, f"idle RSS {rss / MB:.1f} MB"


@pytest.mark.slow
def test_5000_idle_connections_to_an_installed_broker_stay_under_40_mb(tmp_path, installed):
    raise_open_files_limit(CONNECTIONS)  # this process's sockets, and the broker's (it inherits the limit)
    server = start_server("edgenats", tmp_path, env=installed)
    clients: list[socket.socket] = []
    try:
        for _ in range(CONNECTIONS):
            client = socket.create_connection(("127.0.0.1", server.port))
            client.sendall(b"CONNECT {}\r\nPING\r\n")
            clients.append(client)
        answered = sum(wait_for_pong(client) for client in clients)
        rss = rss_bytes(server.pid)
    finally:
        for client in clients:
            client.close()
        server.stop()
    assert answered == CONNECTIONS
    assert rss < CONNECTIONS_LIMIT, f"RSS {rss / MB:.1f} MB with {CONNECTIONS} idle connections"


def wait_for_pong(client: socket.socket) -> bool:
    """Read the INFO and the answers to CONNECT + PING until the PONG (True) or the connection ends."""
    client.settimeout(10)
    received = b""
    while b"PONG\r\n" not in received:
        data = client.recv(4096)
        if not data:
            return False
        received += data
    return True
