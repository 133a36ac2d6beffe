"""The edgenats role's `edgenats_hub_drain_rate`: written into the hub remote of the rendered config
(absent when empty), left out of the restart record, refused by the broker's own check when it is not
a size, and, on a broker run by the role's handlers (through `fake_systemctl.py`), a change that only
reloads it: same process, the new limit in /leafz."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from role_service import RoleRun, handler_ran, wait_for_log
from servers import free_port

# Nobody listens here: the remote keeps redialling, which is all these tests need of a hub.
HUB = {"edgenats_hub_url": f"nats-leaf://127.0.0.1:{free_port()}"}


def test_drain_rate_goes_into_the_remote_and_not_into_the_restart_record(config_play):
    paced = config_play(**HUB, edgenats_hub_drain_rate="64KB")
    assert paced.returncode == 0, paced.stdout + paced.stderr
    remote = next(line for line in config_play.config.read_text().splitlines() if "{url:" in line)
    assert remote.strip() == f'{{url: "{HUB["edgenats_hub_url"]}", drain_rate: "64KB"}}'
    record = (config_play.config.parent / "restart-settings.conf").read_text()
    assert "drain_rate:" not in record and HUB["edgenats_hub_url"] in record

    unpaced = config_play(**HUB)
    assert unpaced.returncode == 0, unpaced.stdout + unpaced.stderr
    assert "drain_rate:" not in config_play.config.read_text()

    bad = config_play(**HUB, edgenats_hub_drain_rate="fast")
    assert bad.returncode != 0
    assert "drain_rate: invalid size 'fast'" in bad.stdout, bad.stdout
    assert "drain_rate:" not in config_play.config.read_text(), "a refused run keeps the working config"


def leafz(http_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/leafz", timeout=5) as response:
        return json.loads(response.read())


async def test_a_new_drain_rate_reloads_the_broker(tmp_path):
    role = RoleRun(tmp_path)
    http_port = free_port()
    settings = HUB | {"edgenats_http_port": http_port, "edgenats_jetstream_store_dir": str(tmp_path / "store"),
                      "edgenats_hub_drain_rate": "64KB"}
    try:
        first = role(**settings)
        assert handler_ran(first, "Restart edgenats")
        pid = role.pid()
        limit = (await asyncio.to_thread(leafz, http_port))["remotes"][0]["drain"]["limit_bytes"]
        assert limit == 64 * 1024

        faster = role(**settings | {"edgenats_hub_drain_rate": "256KB"})
        assert handler_ran(faster, "Reload edgenats") and not handler_ran(faster, "Restart edgenats")
        await wait_for_log(role, "Reloaded server configuration")
        assert role.pid() == pid
        limit = (await asyncio.to_thread(leafz, http_port))["remotes"][0]["drain"]["limit_bytes"]
        assert limit == 256 * 1024
    finally:
        role.stop()
