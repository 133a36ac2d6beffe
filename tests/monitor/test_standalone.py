"""/healthz, /routez, /leafz and /jsz of a standalone server, and the monitor port from a config file."""

from __future__ import annotations

import pytest
from monitor_http import Monitor
from servers import free_port, wait_for_port


def test_healthz_says_ok(monitored):
    reply = monitored.monitor.request("/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


def test_routez_and_leafz_are_empty_lists(monitored):
    routez = monitored.monitor.get("/routez")
    assert (routez["num_routes"], routez["routes"]) == (0, [])
    assert routez["server_id"] == monitored.monitor.get("/varz")["server_id"]
    leafz = monitored.monitor.get("/leafz")
    assert (leafz["leafnodes"], leafz["leafs"]) == (0, [])


def test_jsz_has_the_exact_disabled_shape(monitored):
    jsz = monitored.monitor.get("/jsz")
    assert isinstance(jsz.pop("server_id"), str) and isinstance(jsz.pop("now"), str)
    assert jsz == {
        "memory": 0, "storage": 0, "reserved_memory": 0, "reserved_storage": 0, "accounts": 0, "ha_assets": 0,
        "api": {"level": 0, "total": 0, "errors": 0}, "disabled": True,
        "config": {"max_memory": 0, "max_storage": 0},
        "streams": 0, "consumers": 0, "messages": 0, "bytes": 0, "total": 0,
    }


@pytest.mark.parametrize("setting", ["http_port: {port}", 'http: "127.0.0.1:{port}"'])
def test_monitor_port_from_the_config_file(server_kind, server_factory, setting):
    http_port = free_port()
    running = server_factory(server_kind, config=setting.format(port=http_port) + "\n")
    wait_for_port(http_port, running.process, running.log_path)
    varz = Monitor(http_port).get("/varz")
    assert varz["http_port"] == http_port
    if setting.startswith("http:"):
        assert varz["http_host"] == "127.0.0.1"
