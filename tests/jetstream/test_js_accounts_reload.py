"""A SIGHUP reload changes an account's JetStream limits, on edgenats and nats-server alike: `$JS.API.INFO`
shows the new ones and the next stream create is held to them. edgenats only: a reload that would turn
JetStream on or off in an account is refused as a whole (logged), and the running limits stay."""

from __future__ import annotations

import signal

import nats
import nats.errors
from js_helpers import api, poll_until

CONFIG = """
jetstream {{ store_dir: "{store}" }}
accounts {{
  A {{ jetstream: {{ max_streams: {streams} }}, users [{{user: a, password: a}}] }}
  B {{ {b_jetstream} users [{{user: b, password: b}}] }}
}}
"""


def config(store, streams: int, b_jetstream: str = "") -> str:
    return CONFIG.format(store=store, streams=streams, b_jetstream=b_jetstream)


async def max_streams(nc) -> int:
    return (await api(nc, "$JS.API.INFO"))["limits"]["max_streams"]


async def test_reload_changes_the_limits(server_kind, server_factory, tmp_path):
    running = server_factory(server_kind, config(tmp_path / "store", 1))
    nc = await nats.connect(f"nats://a:a@127.0.0.1:{running.port}")
    await api(nc, "$JS.API.STREAM.CREATE.S1", {"name": "S1", "subjects": ["s1"]})
    refused = await api(nc, "$JS.API.STREAM.CREATE.S2", {"name": "S2", "subjects": ["s2"]})
    assert refused["error"]["err_code"] == 10027
    running.config_path.write_text(config(tmp_path / "store", 2))
    running.process.send_signal(signal.SIGHUP)

    async def reloaded():
        try:
            return await max_streams(nc) == 2
        except nats.errors.NoRespondersError:  # nats-server re-enables the account's JetStream meanwhile
            return False

    assert await poll_until(reloaded)
    assert "error" not in await api(nc, "$JS.API.STREAM.CREATE.S2", {"name": "S2", "subjects": ["s2"]})
    await nc.close()


async def test_turning_jetstream_on_in_an_account_needs_a_restart(server_factory, tmp_path):
    running = server_factory("edgenats", config(tmp_path / "store", 1))
    nc = await nats.connect(f"nats://a:a@127.0.0.1:{running.port}")
    assert await max_streams(nc) == 1  # answered: the server has started (and handles SIGHUP)
    running.config_path.write_text(config(tmp_path / "store", 5, "jetstream: enabled,"))
    running.process.send_signal(signal.SIGHUP)

    async def refused():
        return "turning JetStream on or off in an account" in running.log_text()

    assert await poll_until(refused)
    assert await max_streams(nc) == 1
    await nc.close()
