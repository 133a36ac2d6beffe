"""Leaf-node links: edgenats as a leaf of a NATS cluster (soliciting) and as a hub for leafs (accepting).

`config` reads the `leafnodes` block, `manager.LeafNodes` owns the links of a server, `link` is one
link's protocol, `hub` is the accepting side's handshake, `remote` dials a hub, `interest` propagates
subscriptions; messages arriving on a link go through the account's routing (routing.py).
"""
