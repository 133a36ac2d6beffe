"""Link status is visible: /leafz on the monitoring port and the log, while the link comes and goes.

The fields nats-server also reports (leafnodes, is_spoke, account, name) are checked on both kinds
of leaf; the remote's dial state is edgenats' own addition.
"""

from __future__ import annotations

import pytest
from leaf_helpers import hub_config, leaf_config, poll_monitor
from servers import free_port


@pytest.mark.parametrize("leaf_kind", ["edgenats", "nats-server"])
async def test_leafz_shows_the_link_come_and_go(server_factory, leaf_kind):
    leaf_port = free_port()
    hub_port = free_port()
    hub_text = hub_config("hubz", leaf_port)
    hub = server_factory("nats-server", config=hub_text, port=hub_port)
    http_port = free_port()
    leaf = server_factory(leaf_kind, config=leaf_config("leafz", f'url: "nats-leaf://127.0.0.1:{leaf_port}"'),
                          extra_args=["-m", str(http_port)])
    up = await poll_monitor(http_port, "/leafz", lambda doc: doc["leafnodes"] == 1)
    assert up["leafnodes"] == 1
    (link,) = up["leafs"]
    assert (link["name"], link["is_spoke"], link["account"]) == ("hubz", True, "$G")
    if leaf_kind == "edgenats":
        assert [remote["state"] for remote in up["remotes"]] == ["connected"]
        assert "Leafnode connection created" in leaf.log_text()
    hub.stop()
    down = await poll_monitor(http_port, "/leafz", lambda doc: doc["leafnodes"] == 0)
    assert down["leafnodes"] == 0
    if leaf_kind == "edgenats":
        assert down["remotes"][0]["state"] in ("connecting", "backing off", "awaiting INFO")
        assert "Leafnode connection closed" in leaf.log_text()
    server_factory("nats-server", config=hub_text, port=hub_port)
    again = await poll_monitor(http_port, "/leafz", lambda doc: doc["leafnodes"] == 1, timeout=30)
    assert again["leafnodes"] == 1
    if leaf_kind == "edgenats":
        assert again["remotes"][0]["connects"] == 2
