"""A hub with nkey users on its leaf port, of each kind: a nats-server leaf signs the hub's nonce with
its seed and the link comes up in the nkey user's account."""

import nats
from leaf_helpers import hub_config, leaf_config, wait_for_interest
from servers import free_port

SEED = "SUAMV4MF2HOGRJW2EFGGQQVOPQUDICKF7TSWKCDTEIS5HUYUU5GP3GR52U"
PUBLIC = "UAULX644PYVUVVSJRJCKBJSKICUNTYVLBC6XM4CXWZUP6P2WTPP4SC4S"


async def test_a_nats_server_leaf_logs_in_to_the_hub_with_its_nkey(server_factory, server_kind):
    leaf_port = free_port()
    accounts = f"accounts {{ EDGE: {{ users: [ {{ nkey: {PUBLIC} }}, {{ user: cloud, password: pw }} ] }} }}"
    hub = server_factory(server_kind, config=hub_config("hub", leaf_port, "", accounts))
    leaf = server_factory("nats-server", config=leaf_config(
        "leaf", f'url: "nats-leaf://127.0.0.1:{leaf_port}", nkey: "{SEED}"'))
    hub_nc = await nats.connect(hub.url, user="cloud", password="pw")
    leaf_nc = await nats.connect(leaf.url)
    try:
        await wait_for_interest(leaf_nc, hub_nc)
    finally:
        await hub_nc.close()
        await leaf_nc.close()
