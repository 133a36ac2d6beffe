"""Delivery of a message that arrived on a leaf link (LMSG/HMSG) to this server's subscribers.

Rules (nats-server's, PROTOCOL-SPEC §15.6): every matching plain subscriber gets it; a queue group
gets it only when the message names that group, and then one member, local ones first; never back
to the link it came from; never from one of our hubs to another of our hubs (spoke to spoke). Each
other link gets at most one LMSG, naming the queue groups it was picked for.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from edgenats.delivery import DeliveryPlan, deliver, message_tails

if TYPE_CHECKING:
    from edgenats.leafnode.link import LeafLink


def route_from_link(
    source: LeafLink, subject: bytes, reply: bytes | None, queues: list[bytes] | None, header_size: int,
    size: int, payload_crlf: memoryview,
) -> None:
    plan = source.account.sublist.match(subject)
    plain_tail, header_tail = message_tails(reply, header_size, size)
    from_hub_side = not source.we_are_hub
    links: dict[LeafLink, list[bytes]] | None = None
    local = plan.plain
    if queues or plan.has_links:
        links, local = _links_and_picks(source, plan, queues, from_hub_side)
    deliver(local, None, reply, header_size, size, payload_crlf, plain_tail, header_tail, source.server.mark_dirty,
            True)
    if links:
        for link, names in links.items():
            link.deliver_queued(subject, reply, names, header_size, size, payload_crlf)


def _links_and_picks(
    source: LeafLink, plan: DeliveryPlan, queues: list[bytes] | None, from_hub_side: bool
) -> tuple[dict, list]:
    """The other links to send to (with the queue groups each was picked for) and the local entries."""
    links: dict[LeafLink, list[bytes]] = {}
    local: list[tuple] = []
    for entry in plan.plain:
        target = entry[1]
        if target.leaf_link:
            if target is not source and not target.closed and (target.we_are_hub or not from_hub_side):
                links.setdefault(target, [])
        else:
            local.append(entry)
    for name in queues or ():
        group = plan.groups.get(name)
        if group is None:
            continue
        members, remote_members = group
        member = _pick_local(members)
        if member is not None:
            local.append(member)
            continue
        candidates = [entry for entry in remote_members
                      if entry[1] is not source and not entry[1].closed
                      and (entry[1].we_are_hub or not from_hub_side)]
        if candidates:
            weights = [max(entry[0].weight, 1) for entry in candidates]
            target = random.choices(candidates, weights)[0][1]
            links.setdefault(target, []).append(name)
    return links, local


def _pick_local(members: tuple) -> tuple | None:
    count = len(members)
    if not count:
        return None
    start = int(random.random() * count)
    for offset in range(count):
        member = members[(start + offset) % count]
        if not member[1].closed:
            return member
    return None
