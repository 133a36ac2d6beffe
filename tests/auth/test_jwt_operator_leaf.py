"""A broker in operator mode as the leaf of a plain nats-server hub, on both kinds: a remote binds one
JWT account (named by its public key), and that account's users answer requests from the hub."""

from __future__ import annotations

import asyncio

import nats
from jwt_mint import Operator, account_key, user_jwt, user_key, write_creds
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from servers import free_port
from subscribed import subscribed


async def test_a_jwt_account_bound_to_a_leaf_remote_serves_the_hub(server_kind, server_factory, tmp_path):
    leaf_port = free_port()
    hub = server_factory("nats-server", f'leafnodes {{ listen: "127.0.0.1:{leaf_port}" }}\n')
    operator = Operator()
    account = account_key()
    operator.add_account(account, "site")
    remote = f'leafnodes {{ remotes = [ {{ url: "nats://127.0.0.1:{leaf_port}", account: {account.public} }} ] }}\n'
    edge = server_factory(server_kind, operator.config() + remote)
    user = user_key()
    creds = write_creds(tmp_path / "dev.creds", user_jwt(user, account), user)
    device = await nats.connect(edge.url, user_credentials=str(creds), allow_reconnect=False)
    cloud = await nats.connect(hub.url, allow_reconnect=False)
    try:
        async def status(msg):
            await msg.respond(b"up")

        await device.subscribe("site.status", cb=status)
        await subscribed(device)
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                reply = await cloud.request("site.status", b"", timeout=0.5)
                break
            except (NoRespondersError, NatsTimeout):
                assert asyncio.get_running_loop().time() < deadline, "the hub never reached the JWT account"
                await asyncio.sleep(0.05)
        assert reply.data == b"up"
    finally:
        await device.close()
        await cloud.close()
