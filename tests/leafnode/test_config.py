"""The `leafnodes` block: configurations both servers accept (`-t`), and the ones edgenats refuses by
name (unmasked WebSocket frames, compression, listener TLS without a certificate) instead of ignoring them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from servers import nats_server_binary

ACCEPTED = {
    "listener": 'leafnodes { listen: "127.0.0.1:7422", authorization { user: a, password: b, timeout: 2 } }',
    "remotes": """leafnodes {
  reconnect: "2s"
  remotes = [
    { urls: ["nats-leaf://u:p@hub1.example:7422", "nats-leaf://hub2.example"], account: "$G" },
    { url: "tls://hub3.example:7422", tls: { insecure: true }, deny_imports: ["secret.>"], deny_exports: "x.>" },
  ]
}""",
    "websocket-remotes": """leafnodes {
  remotes = [
    { urls: ["ws://hub.example", "ws://hub2.example:8080/nats"], ws_compression: true },
    { url: "wss://hub.example", tls: { insecure: true },
      proxy { url: "http://proxy.example:3128", username: u, password: p, timeout: "5s" } },
  ]
}""",
    "hub-users": """accounts { EDGE: { users: [ { user: leaf, password: pw } ] } }
leafnodes { port: 7422, authorization { users = [ { user: leaf2, password: pw, account: EDGE } ] } }""",
}

REFUSED = {
    "unmasked-websocket": ('leafnodes { remotes = [ { url: "ws://hub.example", ws_no_masking: true } ] }',
                           "masks"),
    "mixed-websocket": ('leafnodes { remotes = [ { urls: ["ws://hub.example", "nats-leaf://hub.example"] } ] }',
                        "mix of websocket"),
    "compressed-remote": ('leafnodes { remotes = [ { url: "nats-leaf://h", compression: s2_auto } ] }',
                          "uncompressed"),
    "remote-without-url": ("leafnodes { remotes = [ { account: A } ] }", "url"),
    "unknown-remote-key": ('leafnodes { remotes = [ { url: "nats-leaf://h", colour: blue } ] }', "colour"),
    "tls-handshake-first": ('leafnodes { remotes = [ { url: "tls://h", tls: { handshake_first: true } } ] }',
                            "handshake_first"),
    "tls-verify-and-map": ('leafnodes { port: 7422, tls: { cert_file: c, key_file: k, verify_and_map: true } }',
                           "verify_and_map"),
    "tls-timeout-zero": ('leafnodes { remotes = [ { url: "tls://h", tls: { timeout: 0 } } ] }', "timeout"),
    "missing-creds": ('leafnodes { remotes = [ { url: "nats-leaf://h", credentials: "/nonexistent.creds" } ] }',
                      "not found"),
}


def check_config(kind: str, path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "edgenats"] if kind == "edgenats" else [nats_server_binary()]
    return subprocess.run([*command, "-t", "-c", str(path)], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("kind", ["edgenats", "nats-server"])
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_leafnodes_configurations_accepted(tmp_path, kind, name):
    path = tmp_path / "leaf.conf"
    path.write_text(ACCEPTED[name] + "\n")
    result = check_config(kind, path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_leafnodes_settings_edgenats_refuses_by_name(tmp_path, name):
    text, reason = REFUSED[name]
    path = tmp_path / "leaf.conf"
    path.write_text(text + "\n")
    result = check_config("edgenats", path)
    assert result.returncode == 1
    assert "leafnodes" in result.stderr and reason in result.stderr
