"""`edgenats creds user`: the `.creds` file it writes, signed by an account's key or by one of its signing
keys, logs in to both brokers in operator mode with nats-py's `user_credentials` and with the CLI's own
`--creds`, and the permissions it was minted with hold there."""

from __future__ import annotations

import asyncio
import os
import time

import nats
import nats.errors
import nkeys
import pytest
from edgenats.auth.jwt_codec import decode_jwt, encode_jwt, parse_creds
from operator_cli import run_cli
from subscribed import subscribed


def new_key(prefix: int) -> tuple[str, str]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed.decode(), nkeys.from_seed(bytearray(seed)).public_key.decode()


def operator_mode_config(account_key: str, signing_key: str) -> str:
    """nats-server in operator mode with one account (and its signing key) preloaded in a MEMORY resolver."""
    operator_seed, operator_key = new_key(nkeys.PREFIX_BYTE_OPERATOR)
    operator_jwt = encode_jwt({"sub": operator_key, "name": "OP", "nats": {"type": "operator"}}, operator_seed)
    limits = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True, "conn": -1}
    account_jwt = encode_jwt({"sub": account_key, "name": "SITE", "nats": {
        "type": "account", "limits": limits, "signing_keys": [signing_key]}}, operator_seed)
    return f"operator: {operator_jwt}\nresolver: MEMORY\nresolver_preload: {{\n  {account_key}: {account_jwt}\n}}\n"


@pytest.mark.parametrize("signer", ["account_key", "signing_key"])
async def test_minted_creds_log_in_with_their_permissions(server_kind, server_factory, tmp_path, signer):
    account_seed, account_key = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    signing_seed, signing_key = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    server = server_factory(server_kind, operator_mode_config(account_key, signing_key))
    seed_file = tmp_path / "signer.nk"
    seed_file.write_text((account_seed if signer == "account_key" else signing_seed) + "\n")
    creds = tmp_path / "sensor.creds"
    issuer = ["--issuer-account", account_key] if signer == "signing_key" else []
    done = run_cli("creds", "user", "sensor-1", "--account-seed", str(seed_file), *issuer, "--pub", "site.sensor-1.>",
                   "--sub", "site.sensor-1.cmd", "--sub", "_INBOX.>", "--expires", "1h", "--out", str(creds))
    assert done.returncode == 0, done.stderr
    assert oct(creds.stat().st_mode)[-3:] == "600"
    claims = decode_jwt(parse_creds(creds.read_text())[0], "user")
    assert claims["name"] == "sensor-1" and 3590 < claims["exp"] - time.time() <= 3600

    errors: asyncio.Queue = asyncio.Queue()

    async def on_error(error):
        await errors.put(error)

    user = await nats.connect(server.url, user_credentials=str(creds), error_cb=on_error, allow_reconnect=False)
    watcher = await nats.connect(server.url, user_credentials=str(creds))
    try:
        seen = await watcher.subscribe("site.sensor-1.cmd")
        await subscribed(watcher)
        await user.publish("site.other.reading", b"forged")
        await user.publish("site.sensor-1.cmd", b"allowed")
        error = await asyncio.wait_for(errors.get(), 5)
        assert str(error) == 'nats: permissions violation for publish to "site.other.reading"'
        assert (await seen.next_msg(timeout=5)).data == b"allowed"
        await user.subscribe("site.other.cmd")
        error = await asyncio.wait_for(errors.get(), 5)
        assert str(error) == 'nats: permissions violation for subscription to "site.other.cmd"'
    finally:
        await user.close()
        await watcher.close()
    allowed = run_cli("-s", server.url, "--creds", str(creds), "pub", "site.sensor-1.reading", "21.5")
    refused = run_cli("-s", server.url, "--creds", str(creds), "pub", "site.other.reading", "x")
    assert allowed.returncode == 0, allowed.stderr
    assert refused.returncode == 1
    assert refused.stderr == 'edgenats: error: Permissions Violation for Publish to "site.other.reading"\n'


def test_a_seed_file_without_an_account_seed_is_refused(tmp_path):
    user_seed, _ = new_key(nkeys.PREFIX_BYTE_USER)
    seed_file = tmp_path / "user.nk"
    seed_file.write_text(user_seed)
    done = run_cli("creds", "user", "x", "--account-seed", str(seed_file))
    assert done.returncode == 1
    assert "no account seed (SA...)" in done.stderr and done.stdout == ""
