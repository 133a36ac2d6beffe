"""Helpers for the system-account tests: a config with a system account and an application account,
nats-py connections as their users, and JSON requests to the server's `$SYS.REQ.SERVER...` subjects.
"""

from __future__ import annotations

import asyncio
import json
import re

import nats
from nats.aio.client import Client

SYSTEM_CONFIG = """\
server_name: {name}
accounts {{
  SYS {{ users: [{{user: sys, password: sys-secret}}] }}
  APP {{ users: [{{user: app, password: app-secret}}, {{user: leaf, password: leaf-secret}}] }}
}}
system_account: SYS
{extra}
"""

# Fields nats-server always writes in the "server" block of an answer or event (Go omits the rest
# when empty: cluster, domain, tags, metadata, feature_flags).
SERVER_FIELDS = {
    "name": str, "host": str, "id": str, "ver": str, "jetstream": bool, "flags": int, "seq": int, "time": str,
}
TRAFFIC = {"msgs": int, "bytes": int}
STATSZ_FIELDS = {
    "start": str, "mem": int, "cores": int, "cpu": (int, float), "connections": int,
    "total_connections": int, "active_accounts": int, "subscriptions": int, "sent": TRAFFIC,
    "sent_to_clients": TRAFFIC, "received": TRAFFIC, "received_from_clients": TRAFFIC,
    "slow_consumers": int, "active_servers": int, "gomaxprocs": int,
}
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
REQUEST_TIMEOUT = 5.0


def system_config(name: str, extra: str = "") -> str:
    return SYSTEM_CONFIG.format(name=name, extra=extra)


async def connect_as(server, user: str, password: str, name: str | None = None) -> Client:
    return await nats.connect(f"nats://{user}:{password}@{server.host}:{server.port}", name=name,
                              allow_reconnect=False)


async def connect_system(server) -> Client:
    return await connect_as(server, "sys", "sys-secret", name="system-user")


async def request_json(client: Client, subject: str, options: dict | bytes | None = None,
                       timeout: float = REQUEST_TIMEOUT) -> dict:
    body = options if isinstance(options, bytes) else json.dumps(options).encode() if options is not None else b""
    reply = await client.request(subject, body, timeout=timeout)
    return json.loads(reply.data)


def assert_shape(document: dict, fields: dict) -> None:
    """Every field is present with its JSON type (nested dicts checked the same way); bools are not ints."""
    for field, kind in fields.items():
        assert field in document, (field, document)
        value = document[field]
        if isinstance(kind, dict):
            assert isinstance(value, dict), (field, value)
            assert_shape(value, kind)
            continue
        assert isinstance(value, kind), (field, value)
        if kind is not bool:
            assert not isinstance(value, bool), (field, value)


def assert_server_block(block: dict, name: str, server_id: str) -> None:
    assert_shape(block, SERVER_FIELDS)
    assert (block["name"], block["id"]) == (name, server_id)
    assert block["seq"] > 0
    assert RFC3339_NANO.match(block["time"]), block["time"]


class Collector:
    """Messages of one subscription, with a way to await the first that satisfies a condition."""

    def __init__(self) -> None:
        self.messages: list = []
        self._arrived = asyncio.Condition()

    async def add(self, msg) -> None:
        """The subscription callback (nats-py wants a coroutine function)."""
        async with self._arrived:
            self.messages.append(msg)
            self._arrived.notify_all()

    async def wait_for(self, condition, timeout: float = REQUEST_TIMEOUT):
        async def first_match():
            async with self._arrived:
                while True:
                    for msg in self.messages:
                        if condition(msg):
                            return msg
                    await self._arrived.wait()

        return await asyncio.wait_for(first_match(), timeout)
