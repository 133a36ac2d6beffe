"""Delivery plans and the appends that deliver a message to socket receivers.

Each account's subscription trie caches, per published subject, a `DeliveryPlan` holding every
receiving subscription's target and ready-made `MSG <subject> <sid> ` / `HMSG ...` (or
`LMSG <subject> `) line prefixes, so that delivering to a client or a leaf link is appending three
pieces to its outbound list. Internal subscribers (no socket) are kept apart in the plan and handed
each message by the routing path (routing.py).
"""

from __future__ import annotations

from itertools import chain, repeat
from random import random as _random

from edgenats.sublist import Subscription, SubscriptionMatch

SIZE_TAILS: dict[int, bytes] = {}
SIZE_TAILS_LIMIT = 4096
# How many subjects a plan keeps its receivers presented on (a pull request's inbox shows each
# delivery on its stored subject).
PRESENTED_KEPT = 16


def size_tail(size: int) -> bytes:
    """`<size>\\r\\n`, cached for the sizes seen most."""
    tail = SIZE_TAILS.get(size)
    if tail is None:
        tail = b"%d\r\n" % size
        if len(SIZE_TAILS) < SIZE_TAILS_LIMIT:
            SIZE_TAILS[size] = tail
    return tail


def message_tails(reply: bytes | None, header_size: int, size: int) -> tuple[bytes, bytes | None]:
    """The line ends after the prefix: for receivers without headers, and (if any) with headers."""
    if header_size < 0:
        tail = SIZE_TAILS.get(size) or size_tail(size)
        return (reply + b" " + tail if reply else tail), None
    body = size_tail(size - header_size)
    if reply:
        return reply + b" " + body, b"%s %d %d\r\n" % (reply, header_size, size)
    return body, b"%d %d\r\n" % (header_size, size)


def tails_as_sent(reply: bytes | None, header_size: int, size: int,
                  sizes_as_sent: tuple[bytes | None, bytes]) -> tuple[bytes, bytes | None]:
    """message_tails with the publisher's own size texts (leading zeros kept); receivers without
    headers get the payload's size, computed."""
    header_text, size_text = sizes_as_sent
    lead = reply + b" " if reply else b""
    if header_size < 0:
        return lead + size_text + b"\r\n", None
    return lead + size_tail(size - header_size), lead + header_text + b" " + size_text + b"\r\n"


def deliver(
    entries: tuple, skip, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview,
    plain_tail: bytes, header_tail: bytes | None, mark_dirty, counted: bool, track_replies: bool = False,
) -> int:
    """Append the message to each entry's target (except `skip`); returns how many received it.

    `counted` entries update their delivery counters here; the others are a plan's bulk entries,
    whose counters the plan keeps for all of them at once (see DeliveryPlan.settle).
    """
    delivered = len(entries)
    for subscription, target, msg_prefix, hmsg_prefix in entries:
        if target is skip:
            delivered -= 1
            if not counted:
                # The plan counted this message for every bulk entry, this one included.
                subscription.delivered -= 1
                target.out_msgs -= 1
                target.out_bytes -= size
            continue
        out = target.out
        if not out:
            mark_dirty(target)
        if header_tail is None:
            out += (msg_prefix, plain_tail, payload_crlf)
        elif target.headers:
            out += (hmsg_prefix, header_tail, payload_crlf)
        else:
            out += (msg_prefix, plain_tail, payload_crlf[header_size:])
        if counted:
            target.out_msgs += 1
            target.out_bytes += size
            subscription.delivered += 1
            if track_replies and target.reply_allowance is not None:
                target.grant_reply(reply)
            if subscription.max_msgs and subscription.delivered >= subscription.max_msgs:
                target.remove_subscription(subscription)
    return delivered


def deliver_run(plan: DeliveryPlan, skip, size: int, tail: bytes, payloads: list[memoryview], mark_dirty) -> None:
    """A run of header-less, reply-less messages to one subject, to the plan's bulk entries."""
    count = len(payloads)
    plan.messages += count
    plan.bytes += count * size
    for subscription, target, msg_prefix, _ in plan.bulk:
        if target is skip:
            subscription.delivered -= count
            target.out_msgs -= count
            target.out_bytes -= count * size
            continue
        out = target.out
        if not out:
            mark_dirty(target)
        # line, payload, line, payload, ... built in C rather than one message at a time.
        out += chain.from_iterable(zip(repeat(msg_prefix + tail, count), payloads, strict=True))


def deliver_queue_run(plan: DeliveryPlan, size: int, tail: bytes, payloads: list[memoryview], mark_dirty) -> None:
    """A run of plain messages to queue groups without message limits: one random member each time.
    The picks for the whole run come first; then each member's share is queued in one go."""
    for group in plan.queues:
        members = len(group)
        shares: list[list[memoryview]] = [[] for _ in range(members)]
        for payload_crlf in payloads:
            shares[int(_random() * members)].append(payload_crlf)
        for (subscription, target, msg_prefix, _), share in zip(group, shares, strict=True):
            if not share:
                continue
            count = len(share)
            out = target.out
            if not out:
                mark_dirty(target)
            out += chain.from_iterable(zip(repeat(msg_prefix + tail, count), share, strict=True))
            target.out_msgs += count
            target.out_bytes += count * size
            subscription.delivered += count


def pick_members(groups: tuple, skip) -> tuple:
    """One member per queue group, chosen at random (skipping `skip`, a publisher with echo off)."""
    if skip is None:
        if len(groups) == 1:
            group = groups[0]
            return (group[int(_random() * len(group))],)
        return tuple([group[int(_random() * len(group))] for group in groups])
    picked = []
    for group in groups:
        count = len(group)
        start = int(_random() * count)
        for offset in range(count):
            member = group[(start + offset) % count]
            if member[1] is not skip:
                picked.append(member)
                break
    return tuple(picked)


def split_picks(plain: tuple, picked: tuple) -> tuple[tuple, dict, list]:
    """Queue picks sorted by kind of receiver: socket entries (with `plain`), picks that landed on leaf
    links (by link; such a link's plain entry is dropped since its one LMSG naming the groups also
    serves the plain interest on the far side) and picks that landed on internal subscribers."""
    leaf_picks: dict = {}
    internal: list = []
    local = []
    for member in picked:
        if member[2] is not None:
            local.append(member)
        elif member[1].internal:
            internal.append(member)
        else:
            leaf_picks.setdefault(member[1], []).append(member[0].queue.encode("latin-1"))
    if leaf_picks:
        plain = tuple(entry for entry in plain if entry[1] not in leaf_picks)
    return plain + tuple(local), leaf_picks, internal


class DeliveryPlan:
    """Per subject: each receiving subscription's target and its ready-made line prefixes."""

    __slots__ = ("plain", "internal", "bulk", "counted", "messages", "bytes", "queues", "unlimited_queues",
                 "linked", "has_links", "groups", "tracks_replies", "direct", "_presented")

    def __init__(self, subject: bytes, match: SubscriptionMatch) -> None:
        plain: list[tuple] = []
        internal: list[tuple] = []
        limited = has_links = tracks_replies = False
        for subscription in match.plain:
            if not _may_deliver(subscription, subject):
                continue
            entry = _entry(subject, subscription)
            target = entry[1]
            if target.internal:
                # Internal subscribers get each message through their callback, after the sockets.
                internal.append(entry)
                continue
            plain.append(entry)
            limited = limited or subscription.max_msgs > 0
            # Messages arriving on a link take a slower path only when other links want them too.
            has_links = has_links or target.leaf_link
            tracks_replies = tracks_replies or target.reply_allowance is not None
        self.plain = tuple(plain)
        self.internal = tuple(internal)
        self.has_links = has_links
        # Per queue name: (members here, leaf-link members), for messages arriving on a link.
        self.groups: dict[bytes, tuple[tuple, tuple]] = {}
        self.linked = False
        self.queues: tuple = ()
        self.unlimited_queues = True
        if match.queues:
            tracks_replies = self._add_queues(subject, match.queues) or tracks_replies
        self.tracks_replies = tracks_replies
        # Bulk entries receive every message published to the subject, so the plan counts messages
        # and bytes once for all of them; entries with a message limit, reply grants or a leaf queue
        # split are counted one delivery at a time.
        if self.linked or tracks_replies:
            self.bulk, self.counted = (), self.plain
        elif limited:
            self.bulk = tuple(entry for entry in self.plain if not entry[0].max_msgs)
            self.counted = tuple(entry for entry in self.plain if entry[0].max_msgs)
        else:
            self.bulk, self.counted = self.plain, ()
        self.messages = 0
        self.bytes = 0
        # Only sockets, each receiving every message: a run of identical frames is appended at once.
        self.direct = not (self.linked or tracks_replies or self.internal)
        self._presented: dict[bytes, tuple] | None = None

    def _add_queues(self, subject: bytes, groups: tuple) -> bool:
        """The queue groups' members; returns whether one of them is granted replies."""
        queues = []
        for group in groups:
            entries = tuple(_entry(subject, sub) for sub in group if _may_deliver(sub, subject))
            if not entries:
                continue
            local = tuple(entry for entry in entries if not entry[1].leaf_link)
            remote = tuple(entry for entry in entries if entry[1].leaf_link)
            # Members on this server win; a leaf link gets the message only when there are none.
            queues.append(local or remote)
            # Picks then need sorting by kind of receiver (split_picks).
            self.linked = self.linked or not local or any(entry[1].internal for entry in local)
            self.groups[entries[0][0].queue.encode("latin-1")] = (local, remote)
        self.queues = tuple(queues)
        self.unlimited_queues = not any(entry[0].max_msgs for group in self.queues for entry in group)
        return any(entry[1].reply_allowance is not None for group in self.queues for entry in group)

    def presented(self, subject: bytes) -> tuple:
        """`presented_as(subject, self.plain)`, kept for the last few subjects: the receivers of a
        JetStream delivery subject or pull inbox, shown on the stored subjects of what they get."""
        shown = self._presented
        if shown is None:
            shown = self._presented = {}
        found = shown.get(subject)
        if found is None:
            if len(shown) >= PRESENTED_KEPT:
                shown.clear()
            found = shown[subject] = presented_as(subject, self.plain)
        return found

    def settle(self) -> None:
        """Hand the plan-level counts to the bulk entries' subscriptions and targets."""
        messages = self.messages
        if messages:
            size = self.bytes
            for subscription, target, _, _ in self.bulk:
                subscription.delivered += messages
                target.out_msgs += messages
                target.out_bytes += size
            self.messages = self.bytes = 0


class ReplyPlan:
    """What every subject `<head>.<token>` of one head delivers to when all its receivers are client
    sockets that take each message as it comes (nats-py's `_INBOX.<id>.*`, which request replies and
    PubAcks go to): the same receivers for every such subject, so one plan per head serves them all,
    and the subject is written into each line as it is delivered."""

    __slots__ = ("receivers",)

    def __init__(self, receivers: tuple) -> None:
        self.receivers = receivers  # (subscription, target, b" <sid> ")

    @classmethod
    def of(cls, match: SubscriptionMatch) -> ReplyPlan | None:
        """The trie's `derive_shared`: a plan when no receiver has a queue group, permissions, a
        message limit or reply grants; else None, and each subject gets a DeliveryPlan of its own."""
        if match.queues:
            return None
        receivers = []
        for subscription in match.plain:
            target = subscription.target
            if (target.internal or target.leaf_link or subscription.max_msgs or target.reply_allowance is not None
                    or (target.user is not None and target.user.permissions is not None)):
                return None
            receivers.append((subscription, target, b" " + subscription.sid + b" "))
        return cls(tuple(receivers))

    def deliver(self, subject: bytes, reply: bytes | None, header_size: int, size: int, payload_crlf: memoryview,
                mark_dirty, skip=None, sizes_as_sent: tuple[bytes | None, bytes] | None = None) -> int:
        """One message to every receiver but `skip` (a publisher with echo off), its sizes written as
        sent when given; returns how many got it."""
        if sizes_as_sent is None:
            plain_tail, header_tail = message_tails(reply, header_size, size)
        else:
            plain_tail, header_tail = tails_as_sent(reply, header_size, size, sizes_as_sent)
        delivered = 0
        for subscription, target, sid in self.receivers:
            if target is skip:
                continue
            out = target.out
            if not out:
                mark_dirty(target)
            if header_tail is None:
                out += (b"MSG ", subject, sid, plain_tail, payload_crlf)
            elif target.headers:
                out += (b"HMSG ", subject, sid, header_tail, payload_crlf)
            else:
                out += (b"MSG ", subject, sid, plain_tail, payload_crlf[header_size:])
            target.out_msgs += 1
            target.out_bytes += size
            subscription.delivered += 1
            delivered += 1
        return delivered


def _entry(subject: bytes, subscription: Subscription) -> tuple:
    if subscription.target.internal:
        return (subscription, subscription.target, None, None)
    if subscription.target.leaf_link:
        # Plain interest of a link takes LMSG/HMSG lines built like MSG ones; a queue member of a
        # link needs the queue names on its line, so it has no prefix and goes through deliver_queued.
        if subscription.queue is not None:
            return (subscription, subscription.target, None, None)
        return (subscription, subscription.target, b"LMSG " + subject + b" ", b"HMSG " + subject + b" ")
    tail = subject + b" " + subscription.sid + b" "
    return (subscription, subscription.target, b"MSG " + tail, b"HMSG " + tail)


def presented_as(subject: bytes, entries: tuple) -> tuple:
    """The same receivers with their lines built for another subject (a message published to one
    subject and shown on another, as JetStream pull deliveries are); leaf links left out."""
    return tuple(_entry(subject, entry[0]) for entry in entries if not entry[1].leaf_link)


def _may_deliver(subscription: Subscription, subject: bytes) -> bool:
    """Deny-subscribe permissions filter messages on wider subscriptions; decided once per subject."""
    user = subscription.target.user
    permissions = user.permissions if user else None
    return permissions is None or permissions.may_deliver(subject.decode("latin-1"), subscription.queue)
