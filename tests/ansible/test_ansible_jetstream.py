"""The edgenats role's JetStream settings and its reload-or-restart choice, run for real against
localhost: the rendered config's `jetstream` block and its store folder (owned by the service user,
kept by every run), variables refused by the broker's own check, and a broker run by the role's
handlers (through `fake_systemctl.py`, since no systemd runs here) that keeps its process and its
clients when only reloadable settings change and is restarted, its streams kept, when others do; the
unit it runs under is Type=notify with a watchdog, and a restart is a lame-duck stop that tells the
client before dropping it."""

from __future__ import annotations

import asyncio
import os

import nats
from ansible_play import BIN, recap
from role_service import RoleRun, handler_ran, wait_for_log


def test_jetstream_block_store_folder_and_bad_variables(config_play, tmp_path):
    store = tmp_path / "store"
    settings = {"edgenats_jetstream_store_dir": str(store), "edgenats_jetstream_domain": "site1",
                "edgenats_jetstream_sync_interval": "always", "edgenats_jetstream_max_file_store": "1GB"}
    first = config_play(**settings)
    assert first.returncode == 0, first.stdout + first.stderr
    text = config_play.config.read_text()
    block = text[text.index("jetstream {"):]
    assert f'store_dir: "{store}"' in block and 'domain: "site1"' in block
    assert 'sync_interval: "always"' in block and "max_file_store: 1GB" in block
    assert "max_memory_store: 16MB" in block
    assert store.stat().st_uid == os.getuid() and oct(store.stat().st_mode)[-3:] == "750"
    (store / "jetstream").mkdir()
    (store / "jetstream" / "kept").write_text("a stream's data")

    second = config_play(**settings)
    assert "changed=0" in recap(second), second.stdout
    assert (store / "jetstream" / "kept").read_text() == "a stream's data"

    bad_domain = config_play(**settings | {"edgenats_jetstream_domain": "site.1"})
    assert bad_domain.returncode != 0
    assert "jetstream.domain must be a name without '.'" in bad_domain.stdout, bad_domain.stdout
    in_venv = config_play(**settings | {"edgenats_jetstream_store_dir": str(BIN.parent / "store")})
    assert in_venv.returncode != 0
    assert "must be an absolute path outside" in in_venv.stdout, in_venv.stdout
    assert not (BIN.parent / "store").exists()
    assert 'domain: "site1"' in config_play.config.read_text(), "a refused run keeps the working config"


def unit_settings(role: RoleRun) -> dict[str, str]:
    settings = {}
    for line in (role.units / "edgenats-test.service").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            settings[key] = value
    return settings


async def test_reloadable_change_reloads_and_other_changes_restart(tmp_path):
    role = RoleRun(tmp_path)
    devices = [{"user": "devices", "password": "pw"}]
    settings = {"edgenats_users": devices, "edgenats_jetstream_domain": "site1",
                "edgenats_jetstream_store_dir": str(tmp_path / "store")}
    try:
        first = role(**settings)
        assert handler_ran(first, "Restart edgenats") and not handler_ran(first, "Reload edgenats")
        # The unit the play started (the fake systemctl waited for the broker's READY=1, as systemd does).
        unit = unit_settings(role)
        assert (unit["Type"], unit["NotifyAccess"], unit["WatchdogSec"]) == ("notify", "main", "30")
        assert unit["KillSignal"] == "SIGUSR2" and unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
        # systemd adds up the parts of a time span: the lame-duck duration and 30 s.
        assert unit["TimeoutStopSec"] == "30s 30s"
        pid = role.pid()
        dropped = asyncio.get_running_loop().create_future()
        told = asyncio.Event()

        async def on_disconnect():
            if not dropped.done():
                dropped.set_result(True)

        async def on_lame_duck():
            told.set()

        url = f"nats://127.0.0.1:{role.port}"
        client = await nats.connect(url, user="devices", password="pw", disconnected_cb=on_disconnect,
                                    lame_duck_mode_cb=on_lame_duck, reconnect_time_wait=0.1,
                                    max_reconnect_attempts=-1)
        js = client.jetstream()
        await js.add_stream(name="READINGS", subjects=["readings.>"])
        await js.publish("readings.t1", b"21.5")
        assert (await js.account_info()).domain == "site1"

        with_ops = settings | {"edgenats_users": devices + [{"user": "ops", "password": "pw2"}]}
        reloaded = role(**with_ops)
        assert handler_ran(reloaded, "Reload edgenats") and "Restart edgenats" not in reloaded.stdout
        await wait_for_log(role, "Reloaded server configuration")
        ops = await nats.connect(url, user="ops", password="pw2", allow_reconnect=False)
        await ops.close()
        assert role.pid() == pid
        await client.flush(timeout=2)
        assert client.is_connected and not dropped.done(), "a reload keeps the client's connection"

        moved = role(**with_ops | {"edgenats_jetstream_domain": "site2"})
        assert handler_ran(moved, "Restart edgenats") and not handler_ran(moved, "Reload edgenats")
        # The restart stopped the broker in lame-duck mode: the client was told before it was dropped.
        await asyncio.wait_for(dropped, 10)
        assert told.is_set()
        assert "Entering lame duck mode" in role.log()
        assert role.pid() != pid
        assert "Failed to reload" not in role.log()
        await client.flush(timeout=10)  # reconnected to the new broker
        assert (await js.account_info()).domain == "site2"
        stored = await js.get_msg("READINGS", 1)
        assert stored.data == b"21.5", "the stream's data survives the restart"
        await client.close()
    finally:
        role.stop()
