"""Requests the server answers in its system account: `$SYS.REQ.SERVER.PING[.<KIND>]` (every server)
and `$SYS.REQ.SERVER.<id>.<KIND>` (one server), with options in the request body, as nats-server does.
"""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from servers import free_port
from subscribed import subscribed
from system_helpers import (
    STATSZ_FIELDS,
    assert_server_block,
    assert_shape,
    connect_as,
    connect_system,
    request_json,
    system_config,
)

MONITOR_KINDS = ("VARZ", "CONNZ", "SUBSZ", "LEAFZ", "HEALTHZ")
# What each answer's "data" holds: the fields of the matching HTTP endpoint that tools read.
DATA_FIELDS = {
    "VARZ": {"server_id": str, "server_name": str, "version": str, "host": str, "port": int,
             "max_payload": int, "start": str, "uptime": str, "mem": int, "connections": int,
             "total_connections": int, "in_msgs": int, "out_msgs": int, "subscriptions": int,
             "system_account": str},
    "CONNZ": {"server_id": str, "now": str, "num_connections": int, "total": int, "offset": int,
              "limit": int, "connections": list},
    "SUBSZ": {"server_id": str, "now": str, "num_subscriptions": int, "num_cache": int, "total": int,
              "offset": int, "limit": int},
    "LEAFZ": {"server_id": str, "now": str, "leafnodes": int, "leafs": list},
    "HEALTHZ": {"status": str, "status_code": int},
}


async def test_ping_answers_with_the_server_and_its_statistics(system_server, server_kind):
    client = await connect_system(system_server)
    try:
        server_id = client._server_info["server_id"]
        for subject in ("$SYS.REQ.SERVER.PING", "$SYS.REQ.SERVER.PING.STATSZ", f"$SYS.REQ.SERVER.{server_id}.STATSZ"):
            answer = await request_json(client, subject)
            assert set(answer) == {"server", "statsz"}, subject
            assert_server_block(answer["server"], f"sys-{server_kind}", server_id)
            assert answer["server"]["host"] == "127.0.0.1"
            statsz = answer["statsz"]
            assert_shape(statsz, STATSZ_FIELDS)
            assert statsz["connections"] >= 1 and statsz["active_accounts"] >= 1
            assert statsz["active_servers"] == 1
    finally:
        await client.close()


async def test_sequence_numbers_grow_with_each_answer(system_server):
    client = await connect_system(system_server)
    try:
        first = await request_json(client, "$SYS.REQ.SERVER.PING")
        second = await request_json(client, "$SYS.REQ.SERVER.PING.VARZ")
        assert second["server"]["seq"] > first["server"]["seq"]
    finally:
        await client.close()


@pytest.mark.parametrize("kind", MONITOR_KINDS)
async def test_monitoring_requests_answer_with_the_endpoint_data(system_server, server_kind, kind):
    client = await connect_system(system_server)
    try:
        server_id = client._server_info["server_id"]
        for subject in (f"$SYS.REQ.SERVER.PING.{kind}", f"$SYS.REQ.SERVER.{server_id}.{kind}"):
            answer = await request_json(client, subject)
            assert set(answer) == {"server", "data"}, (subject, answer)
            assert_server_block(answer["server"], f"sys-{server_kind}", server_id)
            assert_shape(answer["data"], DATA_FIELDS[kind])
            if "server_id" in answer["data"]:
                assert answer["data"]["server_id"] == server_id
    finally:
        await client.close()


async def test_varz_names_the_system_account(system_server):
    client = await connect_system(system_server)
    try:
        varz = (await request_json(client, "$SYS.REQ.SERVER.PING.VARZ"))["data"]
        assert varz["system_account"] == "SYS"
        assert varz["port"] == system_server.port
    finally:
        await client.close()


async def test_healthz_says_ok(system_server):
    client = await connect_system(system_server)
    try:
        assert (await request_json(client, "$SYS.REQ.SERVER.PING.HEALTHZ"))["data"] == {"status": "ok",
                                                                                        "status_code": 200}
    finally:
        await client.close()


async def test_connz_takes_its_options_from_the_request_body(system_server):
    system = await connect_system(system_server)
    app = await connect_as(system_server, "app", "app-secret", name="orders-app")
    try:
        await app.subscribe("orders.new")
        await subscribed(app)
        everything = (await request_json(system, "$SYS.REQ.SERVER.PING.CONNZ"))["data"]
        assert {c.get("name") for c in everything["connections"]} == {"system-user", "orders-app"}
        assert all("subscriptions_list" not in c for c in everything["connections"])

        listed = (await request_json(system, "$SYS.REQ.SERVER.PING.CONNZ", {"subscriptions": True}))["data"]
        by_name = {c["name"]: c for c in listed["connections"]}
        assert by_name["orders-app"]["subscriptions_list"] == ["orders.new"]

        detailed = (await request_json(system, "$SYS.REQ.SERVER.PING.CONNZ",
                                       {"subscriptions_detail": True}))["data"]
        detail = {c["name"]: c for c in detailed["connections"]}["orders-app"]["subscriptions_list_detail"]
        assert [entry["subject"] for entry in detail] == ["orders.new"]

        app_only = (await request_json(system, "$SYS.REQ.SERVER.PING.CONNZ", {"acc": "APP"}))["data"]
        assert [c["name"] for c in app_only["connections"]] == ["orders-app"]

        one = (await request_json(system, "$SYS.REQ.SERVER.PING.CONNZ", {"limit": 1}))["data"]
        assert (one["num_connections"], one["total"], one["limit"]) == (1, 2, 1)
    finally:
        await app.close()
        await system.close()


async def test_subsz_takes_its_options_from_the_request_body(system_server):
    system = await connect_system(system_server)
    app = await connect_as(system_server, "app", "app-secret")
    try:
        await app.subscribe("orders.new")
        await subscribed(app)
        plain = (await request_json(system, "$SYS.REQ.SERVER.PING.SUBSZ"))["data"]
        assert "subscriptions_list" not in plain

        matching = (await request_json(system, "$SYS.REQ.SERVER.PING.SUBSZ",
                                       {"subscriptions": True, "test": "orders.new"}))["data"]
        assert matching["total"] == 1
        [entry] = matching["subscriptions_list"]
        assert (entry["account"], entry["subject"]) == ("APP", "orders.new")
    finally:
        await app.close()
        await system.close()


async def test_a_body_that_is_not_json_gets_a_400_error(system_server):
    client = await connect_system(system_server)
    try:
        server_id = client._server_info["server_id"]
        answer = await request_json(client, "$SYS.REQ.SERVER.PING.CONNZ", b"not json")
        assert set(answer) == {"server", "error"}
        assert answer["server"]["id"] == server_id
        assert answer["error"]["code"] == 400
        assert isinstance(answer["error"]["description"], str) and answer["error"]["description"]
    finally:
        await client.close()


async def test_an_option_the_endpoint_refuses_gets_a_500_error(system_server):
    client = await connect_system(system_server)
    try:
        answer = await request_json(client, "$SYS.REQ.SERVER.PING.CONNZ", {"sort": "bogus"})
        assert answer["data"] is None
        assert answer["error"] == {"code": 500, "description": "invalid sorting option: bogus"}
    finally:
        await client.close()


async def test_filter_options_choose_which_servers_answer(system_server, server_kind):
    client = await connect_system(system_server)
    try:
        named = await request_json(client, "$SYS.REQ.SERVER.PING.VARZ", {"server_name": "sys-"})
        assert named["server"]["name"] == f"sys-{server_kind}"
        exact = await request_json(client, "$SYS.REQ.SERVER.PING", {"server_name": f"sys-{server_kind}",
                                                                    "exact_match": True})
        assert exact["server"]["name"] == f"sys-{server_kind}"
        for options in ({"server_name": "elsewhere"}, {"server_name": "sys-", "exact_match": True},
                        {"host": "192.0.2.1"}, {"tags": ["edge"]}):
            with pytest.raises(NatsTimeout):
                await request_json(client, "$SYS.REQ.SERVER.PING.VARZ", options, timeout=0.5)
    finally:
        await client.close()


async def test_other_accounts_get_no_responders(system_server):
    app = await connect_as(system_server, "app", "app-secret")
    try:
        server_id = app._server_info["server_id"]
        for subject in ("$SYS.REQ.SERVER.PING", f"$SYS.REQ.SERVER.{server_id}.VARZ"):
            with pytest.raises(NoRespondersError):
                await app.request(subject, b"", timeout=2)
    finally:
        await app.close()


async def test_the_system_account_is_dollar_sys_unless_configured(server_kind, server_factory):
    server = server_factory(server_kind, "accounts { $SYS { users: [{user: admin, password: pw}] } }\n")
    client = await connect_as(server, "admin", "pw")
    try:
        varz = (await request_json(client, "$SYS.REQ.SERVER.PING.VARZ"))["data"]
        assert varz["system_account"] == "$SYS"
    finally:
        await client.close()


async def test_leafz_lists_a_link_and_its_subscriptions_on_request(server_kind, server_factory):
    leaf_port = free_port()
    hub = server_factory(server_kind, system_config(f"hub-{server_kind}",
                                                    f'leafnodes {{ listen: "127.0.0.1:{leaf_port}" }}'))
    leaf = server_factory(server_kind, (
        f"server_name: leaf-{server_kind}\n"
        f'leafnodes {{ remotes = [ {{ url: "nats://leaf:leaf-secret@127.0.0.1:{leaf_port}" }} ] }}\n'
    ))
    system = await connect_system(hub)
    local = await nats.connect(leaf.url)
    try:
        await local.subscribe("sensors.temperature")
        await subscribed(local)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while True:
            leafz = (await request_json(system, "$SYS.REQ.SERVER.PING.LEAFZ", {"subscriptions": True}))["data"]
            listed = [subject for link in leafz["leafs"] for subject in link.get("subscriptions_list", [])]
            if "sensors.temperature" in listed or loop.time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert leafz["leafnodes"] == 1
        [link] = leafz["leafs"]
        assert (link["name"], link["account"]) == (f"leaf-{server_kind}", "APP")
        assert "sensors.temperature" in link["subscriptions_list"]
        plain = (await request_json(system, "$SYS.REQ.SERVER.PING.LEAFZ"))["data"]
        assert "subscriptions_list" not in plain["leafs"][0]
    finally:
        await local.close()
        await system.close()
