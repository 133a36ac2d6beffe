"""Leaf-node links: edgenats as a leaf of a NATS cluster (soliciting) and as a hub for leafs (accepting).

`config` reads the `leafnodes` block, `manager.LeafNodes` owns the links of a server, `link` is one
link's protocol, `remote` dials a hub, `interest` propagates subscriptions, `delivery` routes LMSG.
"""
