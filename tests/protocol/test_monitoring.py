"""Monitoring HTTP endpoints (spec §16): /varz, /connz, /subsz and /healthz answer JSON with the
fields monitoring tools read, of the right types, and their counts follow what clients do.

The server is shared by the module: each test starts once earlier connections are gone and compares
counts before and after its own actions.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from rawclient import RawClient

NUMBER = (int, float)
VARZ_FIELDS = {
    "server_id": str,
    "server_name": str,
    "version": str,
    "proto": int,
    "host": str,
    "port": int,
    "max_connections": int,
    "ping_interval": int,
    "ping_max": int,
    "http_port": int,
    "auth_timeout": NUMBER,
    "max_control_line": int,
    "max_payload": int,
    "max_pending": int,
    "write_deadline": int,
    "start": str,
    "now": str,
    "uptime": str,
    "mem": int,
    "cores": int,
    "cpu": NUMBER,
    "connections": int,
    "total_connections": int,
    "routes": int,
    "remotes": int,
    "leafnodes": int,
    "in_msgs": int,
    "out_msgs": int,
    "in_bytes": int,
    "out_bytes": int,
    "slow_consumers": int,
    "subscriptions": int,
    "http_req_stats": dict,
    "slow_consumer_stats": dict,
    "cluster": dict,
    "gateway": dict,
    "leaf": dict,
}
CONNZ_FIELDS = {
    "server_id": str,
    "now": str,
    "num_connections": int,
    "total": int,
    "offset": int,
    "limit": int,
    "connections": list,
}
CONNECTION_FIELDS = {
    "cid": int,
    "ip": str,
    "port": int,
    "start": str,
    "last_activity": str,
    "uptime": str,
    "idle": str,
    "pending_bytes": int,
    "in_msgs": int,
    "out_msgs": int,
    "in_bytes": int,
    "out_bytes": int,
    "subscriptions": int,
}
SUBSZ_FIELDS = {"server_id": str, "now": str, "num_subscriptions": int, "num_matches": int}


@pytest.fixture
def monitored(server_kind, shared_servers):
    """The module's monitored server, once connections of earlier tests are gone."""
    running = shared_servers(server_kind, monitor=True)
    deadline = time.monotonic() + 10
    while get_json(running, "/connz")[0]["num_connections"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def get_json(running, path: str) -> tuple[dict, str]:
    """GET a monitoring path; returns the JSON body and the Content-Type."""
    url = f"http://127.0.0.1:{running.http_port}{path}"
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
                return json.loads(response.read()), response.headers.get("Content-Type", "")
        except urllib.error.URLError as error:
            # Only the very first request may race the HTTP listener's start-up.
            if not isinstance(error.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def assert_fields(document: dict, fields: dict) -> None:
    for name, expected_type in fields.items():
        assert name in document, f"missing {name!r}"
        value = document[name]
        assert isinstance(value, expected_type) and not isinstance(value, bool), f"{name}={value!r}"


def test_healthz_reports_ok(monitored):
    body, _ = get_json(monitored, "/healthz")
    assert body == {"status": "ok"}


def test_varz_is_json_with_core_fields(monitored):
    body, content_type = get_json(monitored, "/varz")
    assert content_type.startswith("application/json")
    assert_fields(body, VARZ_FIELDS)
    assert body["port"] == monitored.port
    assert body["max_payload"] == 1048576


def test_varz_server_id_matches_info(monitored):
    with RawClient.connect(monitored.port) as client:
        body, _ = get_json(monitored, "/varz")
        assert body["server_id"] == client.info["server_id"]


def test_varz_counts_open_connections(monitored):
    before, _ = get_json(monitored, "/varz")
    with RawClient.handshake(monitored.port), RawClient.handshake(monitored.port):
        during, _ = get_json(monitored, "/varz")
    assert during["connections"] == before["connections"] + 2
    assert during["total_connections"] >= before["total_connections"] + 2


def test_varz_counts_messages_and_bytes(monitored):
    before, _ = get_json(monitored, "/varz")
    with RawClient.handshake(monitored.port) as client:
        client.send(b"SUB varz.msgs 1\r\n" + b"PUB varz.msgs 5\r\nhello\r\n" * 3)
        client.fence()
        after, _ = get_json(monitored, "/varz")
    assert after["in_msgs"] - before["in_msgs"] == 3
    assert after["out_msgs"] - before["out_msgs"] == 3
    assert after["in_bytes"] - before["in_bytes"] == 15
    assert after["out_bytes"] - before["out_bytes"] == 15


def test_varz_counts_subscriptions(monitored):
    before, _ = get_json(monitored, "/varz")
    with RawClient.handshake(monitored.port) as client:
        client.send(b"SUB varz.a 1\r\nSUB varz.b 2\r\n")
        client.fence()
        during, _ = get_json(monitored, "/varz")
    assert during["subscriptions"] - before["subscriptions"] == 2


def test_connz_lists_connection_with_client_details(monitored):
    with RawClient.handshake(monitored.port, name="connz-probe", lang="raw", version="9.9.9") as client:
        client.send(b"SUB connz.a 1\r\nPUB connz.a 2\r\nhi\r\n")
        client.fence()
        body, content_type = get_json(monitored, "/connz")
    assert content_type.startswith("application/json")
    assert_fields(body, CONNZ_FIELDS)
    matching = [conn for conn in body["connections"] if conn.get("name") == "connz-probe"]
    assert len(matching) == 1, body["connections"]
    connection = matching[0]
    assert_fields(connection, CONNECTION_FIELDS)
    assert connection["cid"] == client.info["client_id"]
    assert (connection["lang"], connection["version"]) == ("raw", "9.9.9")
    assert (connection["in_msgs"], connection["out_msgs"], connection["subscriptions"]) == (1, 1, 1)


def test_connz_counts_connections(monitored):
    before, _ = get_json(monitored, "/connz")
    with RawClient.handshake(monitored.port):
        during, _ = get_json(monitored, "/connz")
    assert during["num_connections"] == before["num_connections"] + 1


def test_connz_with_subs_lists_subscription_subjects(monitored):
    with RawClient.handshake(monitored.port, name="connz-subs") as client:
        client.send(b"SUB connz.x 1\r\nSUB connz.y.* q 2\r\n")
        client.fence()
        body, _ = get_json(monitored, "/connz?subs=1")
    connection = next(conn for conn in body["connections"] if conn.get("name") == "connz-subs")
    assert sorted(connection["subscriptions_list"]) == ["connz.x", "connz.y.*"]


def test_subsz_counts_subscriptions(monitored):
    before, content_type = get_json(monitored, "/subsz")
    assert content_type.startswith("application/json")
    assert_fields(before, SUBSZ_FIELDS)
    with RawClient.handshake(monitored.port) as client:
        client.send(b"SUB subsz.a 1\r\nSUB subsz.b 2\r\nSUB subsz.c 3\r\n")
        client.fence()
        during, _ = get_json(monitored, "/subsz")
    assert during["num_subscriptions"] - before["num_subscriptions"] == 3


def test_jsz_reports_jetstream_disabled_in_the_nats_server_shape(monitored):
    body, _ = get_json(monitored, "/jsz")
    assert isinstance(body.pop("server_id"), str) and isinstance(body.pop("now"), str)
    assert body == {
        "memory": 0,
        "storage": 0,
        "reserved_memory": 0,
        "reserved_storage": 0,
        "accounts": 0,
        "ha_assets": 0,
        "api": {"level": 0, "total": 0, "errors": 0},
        "disabled": True,
        "config": {"max_memory": 0, "max_storage": 0},
        "streams": 0,
        "consumers": 0,
        "messages": 0,
        "bytes": 0,
        "total": 0,
    }
