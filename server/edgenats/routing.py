"""The one routing path: a message handed to an account reaches every receiver the account's cached
delivery plan names, whatever published it (client session, leaf link, internal service).

Sockets first: each client or leaf link gets its frame appended to its outbound list (flushed once per
loop turn). Then internal subscribers get their callback. A message that arrived on a leaf link
follows nats-server's link rules (PROTOCOL-SPEC §15.6): every matching plain subscriber gets it; a
queue group only when the message names that group, and then one member, local ones first; never
back to the link it came from; never from one of our hubs to another (spoke to spoke). Each other link
gets at most one LMSG, naming the queue groups it was picked for.

A JetStream delivery is published to its deliver subject (or a pull request's inbox) but shown on
the stored subject (`deliver_as`). A leaf link carries it on the deliver subject with the stored
subject after the ack reply: `<reply>@<subject>`; a message arriving on a link with such a reply is
shown to local receivers on `<subject>` with `<reply>`, and passed on to other links unchanged.
"""

from __future__ import annotations

import logging
import random

from edgenats.delivery import (
    SIZE_TAILS,
    DeliveryPlan,
    ReplyPlan,
    deliver,
    deliver_queue_run,
    deliver_run,
    message_tails,
    pick_members,
    presented_as,
    size_tail,
    split_picks,
    tails_as_sent,
)

log = logging.getLogger("edgenats")

# Internal subscribers that publish from their callback nest routing calls; deeper than this is a
# loop (imports are checked for cycles at config time; this is the last guard).
MAX_NESTING = 16
# Where every official client's reply subjects live (its inbox prefix unless configured otherwise): a
# message there is a reply, published once, whoever publishes it.
INBOX_PREFIX = b"_INBOX."


class Router:
    """Routes the messages of one subject space (an account is one); `mark_dirty(connection)` schedules
    a connection's flush."""

    __slots__ = ("sublist", "mark_dirty", "_nesting")

    def __init__(self, sublist, mark_dirty) -> None:
        self.sublist = sublist
        self.mark_dirty = mark_dirty
        self._nesting = 0

    def has_interest(self, subject: str) -> bool:
        """Whether anyone would receive a message on `subject` (a cached lookup)."""
        plan = self.sublist.match(subject.encode("latin-1"))
        return bool(plan.plain or plan.internal or plan.queues)

    def publish(self, subject: bytes, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview,
                skip=None, sizes_as_sent: tuple[bytes | None, bytes] | None = None, once: bool = False) -> int:
        """Deliver one message (header_size -1 without headers; payload_crlf ends in CRLF) to everyone
        but `skip` (a publisher with echo off); returns how many receivers got it. `sizes_as_sent`: the
        publisher's size texts when not in their shortest form, repeated as sent (as nats-server does).
        `once`: the subject is published this once (a request's reply subject; every `_INBOX.` subject
        is taken as one), so its plan is not cached (`match_once`) and its counts are settled at once;
        when it is a client's reply inbox the plan its head shares (a ReplyPlan) delivers it."""
        once = once or subject.startswith(INBOX_PREFIX)
        if once:
            plan = self.sublist.match_once(subject)
            if type(plan) is ReplyPlan:
                return plan.deliver(subject, reply, header_size, size, payload_crlf, self.mark_dirty, skip,
                                    sizes_as_sent)
        else:
            plan = self.sublist.match(subject)
        if not (plan.bulk or plan.counted or plan.queues):
            # No socket receives it (a stream's subject, an API request): no line to build.
            delivered = 0
            if plan.internal:
                delivered = self._deliver_internal(plan.internal, None, skip, subject, reply, header_size, size,
                                                   payload_crlf)
            if once:
                plan.settle()
            return delivered
        if sizes_as_sent is not None:
            plain_tail, header_tail = tails_as_sent(reply, header_size, size, sizes_as_sent)
        elif header_size < 0 and reply is None:
            plain_tail = SIZE_TAILS.get(size) or size_tail(size)
            header_tail = None
        else:
            plain_tail, header_tail = message_tails(reply, header_size, size)
        mark_dirty = self.mark_dirty
        bulk = plan.bulk
        delivered = 0
        if bulk:
            plan.messages += 1
            plan.bytes += size
            delivered = deliver(bulk, skip, reply, header_size, size, payload_crlf, plain_tail, header_tail,
                                mark_dirty, False)
        entries = plan.counted
        leaf_picks = internal_picks = None
        if plan.queues:
            picked = pick_members(plan.queues, skip)
            if plan.linked:
                entries, leaf_picks, internal_picks = split_picks(entries, picked)
            else:
                entries = entries + picked if entries else picked
        if entries:
            delivered += deliver(entries, skip, reply, header_size, size, payload_crlf, plain_tail, header_tail,
                                 mark_dirty, True, reply is not None and plan.tracks_replies)
        if leaf_picks:
            for link, queues in leaf_picks.items():
                link.deliver_queued(subject, reply, queues, header_size, size, payload_crlf)
                delivered += 1
        if plan.internal or internal_picks:
            delivered += self._deliver_internal(plan.internal, internal_picks, skip, subject, reply, header_size,
                                                size, payload_crlf)
        if once:
            plan.settle()
        return delivered

    def publish_requests(self, subject: bytes, size: int, replies: list[bytes], payloads: list[memoryview],
                         skip=None) -> list[bytes]:
        """Consecutive plain PUBs on one subject, each with its own reply (async publishes): when only
        internal subscribers receive the subject (a stream), each takes the whole run in one call, by the
        plan found for its first message; otherwise message by message. Returns the replies of the
        messages nobody received (their no-responders statuses follow the run)."""
        plan = None if subject.startswith(INBOX_PREFIX) else self.sublist.match(subject)
        if plan is None or plan.bulk or plan.counted or plan.queues or not plan.internal:
            return [reply for reply, payload_crlf in zip(replies, payloads, strict=True)
                    if not self.publish(subject, reply, -1, size, payload_crlf, skip)]
        if self._nesting >= MAX_NESTING:
            log.error("Routing loop: dropped a message on %s to internal subscribers", subject.decode("latin-1"))
            return replies
        self._nesting += 1
        missed: set[int] | None = None
        try:
            for subscription, target, _, _ in plan.internal:
                if target is skip:
                    continue
                subscription.delivered += len(replies)
                target_missed = target.receive_requests(subject, size, replies, payloads)
                missed = target_missed if missed is None else missed & target_missed
        finally:
            self._nesting -= 1
        if missed is None:
            return replies
        return [replies[index] for index in sorted(missed)]

    def publish_run(self, subject: bytes, size: int, payloads: list[memoryview], skip=None) -> None:
        """Consecutive identical plain PUBs (no reply, no headers): each bulk receiver gets the run in
        one extend when the plan has only sockets; otherwise message by message."""
        plan = self.sublist.match(subject)
        if not plan.direct:
            for payload_crlf in payloads:
                self.publish(subject, None, -1, size, payload_crlf, skip)
            return
        tail = SIZE_TAILS.get(size) or size_tail(size)
        mark_dirty = self.mark_dirty
        if plan.bulk:
            deliver_run(plan, skip, size, tail, payloads, mark_dirty)
        if plan.queues and not plan.counted and plan.unlimited_queues and skip is None:
            deliver_queue_run(plan, size, tail, payloads, mark_dirty)
        elif plan.counted or plan.queues:
            # Message by message, with the current plan: a limited subscription may end mid-run.
            sublist = self.sublist
            for payload_crlf in payloads:
                plan = sublist.match(subject)
                entries = plan.counted
                if plan.queues:
                    entries = entries + pick_members(plan.queues, skip)
                deliver(entries, skip, None, -1, size, payload_crlf, tail, None, mark_dirty, True)

    def publish_from_link(self, source, subject: bytes, reply: bytes | None, queues: list[bytes] | None,
                          header_size: int, size: int, payload_crlf: memoryview) -> None:
        """A message that arrived on leaf link `source` (LMSG/HMSG), by the link rules above."""
        plan = self.sublist.match(subject)
        links = None
        local = plan.plain
        internal: list = []
        if queues or plan.has_links:
            links, local, internal = _links_and_picks(source, plan, queues, not source.we_are_hub)
        shown, local_reply = subject, reply
        at = jetstream_delivery_split(reply) if reply is not None else -1
        if at > 0:
            shown, local_reply = reply[at + 1:], reply[:at]
            local = presented_as(shown, tuple(local))
        plain_tail, header_tail = message_tails(local_reply, header_size, size)
        deliver(local, None, local_reply, header_size, size, payload_crlf, plain_tail, header_tail, self.mark_dirty,
                True)
        if links:
            for link, names in links.items():
                link.deliver_queued(subject, reply, names, header_size, size, payload_crlf)
        if plan.internal or internal:
            self._deliver_internal(plan.internal, internal, None, shown, local_reply, header_size, size,
                                   payload_crlf)

    def deliver_as(self, to: bytes, subject: bytes, reply: bytes | None, header_size: int, size: int,
                   payload_crlf: memoryview) -> int:
        """A message for the receivers of `to` that they see on `subject` (JetStream deliveries reach
        the deliver subject or the request's inbox with the stored subject); one member per queue
        group; a leaf link gets it on `to` with the reply `<reply>@<subject>`. Returns how many
        received it."""
        plan = self.sublist.match(to)
        if plan.queues:
            picked = pick_members(plan.queues, None)
            sockets = presented_as(subject, plan.plain + tuple(entry for entry in picked if not entry[1].internal))
            internal = plan.internal + tuple(entry for entry in picked if entry[1].internal)
        else:
            picked, sockets, internal = (), plan.presented(subject), plan.internal
        plain_tail, header_tail = message_tails(reply, header_size, size)
        delivered = deliver(sockets, None, reply, header_size, size, payload_crlf, plain_tail, header_tail,
                            self.mark_dirty, True)
        links: dict = {}
        if plan.has_links:
            for entry in plan.plain:
                if entry[1].leaf_link:
                    links.setdefault(entry[1], [])
        for entry in picked:
            if entry[1].leaf_link:
                links.setdefault(entry[1], []).append(entry[0].queue.encode("latin-1"))
        if links:
            encoded = reply + b"@" + subject if reply else None
            for link, queues in links.items():
                link.deliver_queued(to, encoded, queues, header_size, size, payload_crlf)
            delivered += len(links)
        if internal:
            delivered += self._deliver_internal(internal, None, None, subject, reply, header_size, size,
                                                payload_crlf)
        return delivered

    def _deliver_internal(self, plain: tuple, picked: list | None, skip, subject: bytes, reply: bytes | None,
                          header_size: int, size: int, payload_crlf: memoryview) -> int:
        if self._nesting >= MAX_NESTING:
            log.error("Routing loop: dropped a message on %s to internal subscribers", subject.decode("latin-1"))
            return 0
        self._nesting += 1
        delivered = 0
        try:
            for subscription, target, _, _ in (*plain, *picked) if picked else plain:
                if target is skip:
                    continue
                subscription.delivered += 1
                delivered += target.receive(subject, reply, header_size, size, payload_crlf)
        finally:
            self._nesting -= 1
        return delivered


def jetstream_delivery_split(reply: bytes) -> int:
    """Where the `@` of a `$JS.ACK.<8 tokens>@<subject>` reply is (the first one after the eighth dot:
    names may hold `@`), or -1."""
    if not reply.startswith(b"$JS.ACK."):
        return -1
    at = reply.find(b"@")
    while at != -1:
        if reply.count(b".", 0, at) >= 8:
            return at if at < len(reply) - 1 else -1
        at = reply.find(b"@", at + 1)
    return -1


def _links_and_picks(source, plan: DeliveryPlan, queues: list[bytes] | None,
                     from_hub_side: bool) -> tuple[dict, list, list]:
    """The other links to send to (with the queue groups each was picked for), the local socket
    entries, and the internal queue members picked."""
    links: dict = {}
    local: list[tuple] = []
    internal: list[tuple] = []
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
            (internal if member[1].internal else local).append(member)
            continue
        candidates = [entry for entry in remote_members
                      if entry[1] is not source and not entry[1].closed
                      and (entry[1].we_are_hub or not from_hub_side)]
        if candidates:
            weights = [max(entry[0].weight, 1) for entry in candidates]
            target = random.choices(candidates, weights)[0][1]
            links.setdefault(target, []).append(name)
    return links, local, internal


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
