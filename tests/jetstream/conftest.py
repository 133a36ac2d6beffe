"""JetStream fixtures: a server of each kind with JetStream on (`-js -sd <tmp>`), and a nats-py client."""

from __future__ import annotations

import nats
import pytest


@pytest.fixture
def js_server(server_kind, server_factory, tmp_path):
    return server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])


@pytest.fixture
async def nc(js_server):
    client = await nats.connect(js_server.url)
    yield client
    await client.close()
