"""The `tls` block and the `--tls*` flags as both brokers read them: what they refuse (with the same words),
what the flags turn on, and what edgenats refuses by name because it does not implement it.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest
from auth_wire import WireClient
from servers import free_port, server_command
from tls_client_certs import TLSWire, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls-config"))


def refusal(kind: str, tmp_path, config: str | None, *flags: str) -> str:
    """What a server of `kind` says when it refuses to start with `config` and `flags` (it must exit non-zero)."""
    config_path = None
    if config is not None:
        config_path = tmp_path / f"{kind}.conf"
        config_path.write_text(config)
    command = server_command(kind, free_port(), config_path, list(flags))
    done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.parametrize("settings, said", [
    ({"cert_file": None}, "missing 'cert_file' in TLS configuration"),
    ({"min_version": '"1.1"'}, "unsupported TLS version: TLS 1.1"),
    ({"pinned_certs": '["abc"]'}, "'pinned_certs' key abc does not look like hex-encoded sha256"),
    ({"foo": "1"}, 'unknown field "foo"'),
    ({"key_file": '"{dir}/ca.pem"'}, "error parsing X509 certificate/key pair"),
    ({"handshake_first": '"bogus"'}, 'field "handshake_first"\'s value "bogus" is invalid'),
    ({"allow_non_tls": "true"}, 'unknown field "allow_non_tls"'),  # a top-level setting in nats-server 2.15
], ids=["no-cert", "tls-1.1", "bad-pin", "unknown-field", "not-a-key", "bad-tls-first", "allow-non-tls-inside"])
def test_a_bad_tls_block_is_refused(server_kind, certs, tmp_path, settings, said):
    block = certs.tls_block(**{key: value.replace("{dir}", str(certs.directory))
                               for key, value in settings.items() if value is not None})
    if settings.get("cert_file", "") is None:
        block = "\n".join(line for line in block.splitlines() if "cert_file" not in line)
    assert said in refusal(server_kind, tmp_path, block)


def test_tls_flag_without_a_certificate_is_refused(server_kind, tmp_path):
    assert "TLS Server certificate must be present and valid" in refusal(server_kind, tmp_path, None, "--tls")


def test_tls_flags_turn_tls_on_and_replace_the_block(server_kind, server_factory, certs):
    flags = ["--tlsverify", "--tlscert", certs.path("server.pem"), "--tlskey", certs.path("server-key.pem"),
             "--tlscacert", certs.path("ca.pem")]
    server = server_factory(server_kind, certs.tls_block(), extra_args=flags)
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.info["tls_verify"] is True
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"


def test_tls_false_flag_turns_the_block_off(server_kind, server_factory, certs):
    server = server_factory(server_kind, certs.tls_block(), extra_args=["--tls=false"])
    with WireClient(server.port) as client:
        assert "tls_required" not in client.info
        assert client.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"


def test_what_edgenats_does_not_implement_is_refused_by_name(certs, tmp_path):
    said = refusal("edgenats", tmp_path, certs.tls_block(cipher_suites="[TLS_AES_128_GCM_SHA256]"))
    assert "tls.cipher_suites: choosing cipher suites is not supported by edgenats" in said


def test_allow_non_tls_offers_tls_and_serves_plain_text_too(server_kind, server_factory, certs):
    """Top-level `allow_non_tls` (nats-server 2.15): the INFO says `tls_available`, not `tls_required`; a
    client that starts the handshake after it gets TLS (with its certificate checked under verify), one that
    speaks plain text is served in plain text."""
    http_port = free_port()
    server = server_factory(server_kind, certs.tls_block(verify="true", timeout="0.3") + "allow_non_tls: true\n",
                            extra_args=["-m", str(http_port)])
    assert "TLS available for client connections" in server.log_text()
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/varz", timeout=5) as answer:
        varz = json.load(answer)
    assert varz["tls_verify"] is True and not {"tls_required", "tls_available"} & varz.keys()
    with WireClient(server.port) as client:
        assert (client.info.get("tls_available"), client.info.get("tls_verify")) == (True, True)
        assert "tls_required" not in client.info
        assert client.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    with WireClient(server.port) as client:
        time.sleep(0.4)  # silent past the TLS timeout: still a plain-text client
        assert client.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
    with TLSWire(server.port, certs.client_context("alice")) as wire:
        assert wire.exchange(b'CONNECT {"verbose":false}\r\n') == b"PONG\r\n"
        assert wire.sock.version() == "TLSv1.3"
