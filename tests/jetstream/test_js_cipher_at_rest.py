"""Encryption at rest (`jetstream { key, cipher }`): with a key, message subjects, payloads and headers
are not in the store's files, and a restart with the same key reads them back (edgenats and nats-server alike, both
ciphers on edgenats). edgenats only: a restart with another key, or with none, refuses to start with a
clear message (nats-server instead starts without the streams it cannot decrypt, logging a warning)."""

from __future__ import annotations

import subprocess
import sys

import nats
import pytest
from servers import nats_server_binary

PAYLOAD = b"payload-that-must-not-leak-7f3a"
HEADER = "header-that-must-not-leak-91c2"
SUBJECT = "subject-that-must-not-leak-5d0e"


def config(store, key: str | None, cipher: str = "") -> str:
    settings = f'store_dir: "{store}"'
    if key is not None:
        settings += f', key: "{key}"'
    if cipher:
        settings += f", cipher: {cipher}"
    return f"jetstream {{ {settings} }}\n"


async def store_one(running) -> int:
    """One message with a header in a new file stream S; the stream's bytes."""
    nc = await nats.connect(running.url)
    js = nc.jetstream()
    await js.add_stream(name="S", subjects=["s.>"])
    await js.publish(f"s.{SUBJECT}", PAYLOAD, headers={"Secret": HEADER})
    stored_bytes = (await js.stream_info("S")).state.bytes
    await nc.close()
    return stored_bytes


def leaked(store) -> list[str]:
    return [str(path) for path in store.rglob("*") if path.is_file()
            and any(secret in path.read_bytes() for secret in (PAYLOAD, HEADER.encode(), SUBJECT.encode()))]


@pytest.mark.parametrize("kind, cipher", [("edgenats", "chachapoly"), ("edgenats", "aes"),
                                          ("nats-server", "chachapoly")])
async def test_sealed_on_disk_and_read_back_with_the_key(server_factory, tmp_path, kind, cipher):
    store = tmp_path / "store"
    first = server_factory(kind, config(store, "the right key", cipher))
    stored_bytes = await store_one(first)
    assert first.stop() == 0
    assert leaked(store) == []
    again = server_factory(kind, config(store, "the right key", cipher))
    nc = await nats.connect(again.url)
    js = nc.jetstream()
    message = await js.get_msg("S", 1)
    assert (message.subject, message.data, message.headers["Secret"]) == (f"s.{SUBJECT}", PAYLOAD, HEADER)
    assert (await js.stream_info("S")).state.bytes == stored_bytes
    await nc.close()


@pytest.mark.parametrize("key, message", [
    ("another key", "stream $G > S does not decrypt with the configured jetstream.key (wrong key?)"),
    (None, "stream $G > S is encrypted and no jetstream.key is configured"),
])
async def test_a_wrong_or_missing_key_refuses_to_start(server_factory, tmp_path, key, message):
    store = tmp_path / "store"
    first = server_factory("edgenats", config(store, "the right key"))
    await store_one(first)
    assert first.stop() == 0
    with pytest.raises(RuntimeError) as refused:
        server_factory("edgenats", config(store, key))
    assert "server exited with 1" in str(refused.value)
    assert message in str(refused.value) and "Traceback" not in str(refused.value)


async def test_a_stream_made_before_the_key_stays_readable(server_factory, tmp_path):
    store = tmp_path / "store"
    first = server_factory("edgenats", config(store, None))
    await store_one(first)
    assert first.stop() == 0
    again = server_factory("edgenats", config(store, "a key added later"))
    nc = await nats.connect(again.url)
    assert (await nc.jetstream().get_msg("S", 1)).data == PAYLOAD
    await nc.close()


def test_an_unknown_cipher_is_refused(server_kind, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("jetstream { cipher: rot13, key: k }\n")
    command = ([sys.executable, "-m", "edgenats"] if server_kind == "edgenats" else [nats_server_binary()])
    checked = subprocess.run([*command, "-c", str(bad), "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 1
    assert 'Unknown cipher type: "rot13"' in checked.stdout + checked.stderr
