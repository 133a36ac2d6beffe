"""Delivery plans and the routing path without a network, in the manner of h11's tests: receivers are
plain objects with the receiver interface (an outbound list and counters), and what they would send is
read back as wire bytes."""

from __future__ import annotations

from edgenats.delivery import DeliveryPlan, ReplyPlan
from edgenats.internal import InternalSubscriber
from edgenats.routing import Router
from edgenats.sublist import Subscription, SubscriptionTrie


class SocketReceiver:
    """The receiver interface a client connection offers the routing path."""

    leaf_link = False
    internal = False
    closed = False
    user = None
    reply_allowance = None

    def __init__(self, sublist: SubscriptionTrie, headers: bool = True) -> None:
        self.sublist = sublist
        self.headers = headers
        self.out: list = []
        self.out_msgs = 0
        self.out_bytes = 0

    def wire(self) -> bytes:
        data = b"".join(bytes(piece) for piece in self.out)
        self.out.clear()
        return data

    def remove_subscription(self, subscription: Subscription) -> None:
        self.sublist.remove(subscription)


class Core:
    def __init__(self) -> None:
        self.sublist = SubscriptionTrie(DeliveryPlan, DeliveryPlan.settle, ReplyPlan.of)  # as an account's
        self.dirty: list = []
        self.router = Router(self.sublist, self.dirty.append)

    def receiver(self, subject: str, sid: bytes, queue: str | None = None, headers: bool = True,
                 max_msgs: int = 0) -> tuple[SocketReceiver, Subscription]:
        target = SocketReceiver(self.sublist, headers)
        subscription = Subscription(target, subject, queue, sid, max_msgs=max_msgs)
        self.sublist.insert(subscription)
        return target, subscription

    def publish(self, subject: bytes, payload: bytes, reply: bytes | None = None, headers: bytes | None = None,
                skip=None) -> int:
        header_size = len(headers) if headers is not None else -1
        data = (headers or b"") + payload + b"\r\n"
        return self.router.publish(subject, reply, header_size, len(data) - 2, memoryview(data), skip)

    def settle(self) -> None:
        for plan in self.sublist.cached():
            plan.settle()


def test_each_subscriber_gets_its_own_sid_and_wildcards_match():
    core = Core()
    exact, _ = core.receiver("a.b", b"1")
    star, _ = core.receiver("a.*", b"2")
    rest, _ = core.receiver("a.>", b"3")
    assert core.publish(b"a.b", b"hi") == 3
    # each is scheduled for one flush, whatever it queued
    assert sorted(map(id, core.dirty)) == sorted(map(id, (exact, star, rest)))
    assert exact.wire() == b"MSG a.b 1 2\r\nhi\r\n"
    assert star.wire() == b"MSG a.b 2 2\r\nhi\r\n"
    assert rest.wire() == b"MSG a.b 3 2\r\nhi\r\n"
    assert core.publish(b"a.b.c", b"x", reply=b"inbox.1") == 1
    assert rest.wire() == b"MSG a.b.c 3 inbox.1 1\r\nx\r\n"
    assert exact.wire() == star.wire() == b""


def test_headers_reach_header_aware_receivers_and_are_stripped_for_the_others():
    core = Core()
    modern, _ = core.receiver("h", b"1", headers=True)
    legacy, _ = core.receiver("h", b"2", headers=False)
    block = b"NATS/1.0\r\nK: v\r\n\r\n"
    core.publish(b"h", b"body", reply=b"r", headers=block)
    assert modern.wire() == b"HMSG h 1 r %d %d\r\n%sbody\r\n" % (len(block), len(block) + 4, block)
    assert legacy.wire() == b"MSG h 2 r 4\r\nbody\r\n"


def test_the_publisher_with_echo_off_is_skipped_and_not_counted():
    core = Core()
    me, _ = core.receiver("s", b"1")
    other, _ = core.receiver("s", b"2")
    assert core.publish(b"s", b"x", skip=me) == 1
    core.settle()
    assert (me.wire(), me.out_msgs) == (b"", 0)
    assert (other.wire(), other.out_msgs, other.out_bytes) == (b"MSG s 2 1\r\nx\r\n", 1, 1)


def test_bulk_counts_are_settled_into_subscriptions_and_receivers():
    core = Core()
    receiver, subscription = core.receiver("count.me", b"7")
    for _ in range(5):
        core.publish(b"count.me", b"12345")
    core.settle()
    assert (subscription.delivered, receiver.out_msgs, receiver.out_bytes) == (5, 5, 25)


def test_a_queue_group_gets_each_message_once():
    core = Core()
    members = [core.receiver("jobs", b"%d" % n, queue="workers")[0] for n in range(3)]
    plain, _ = core.receiver("jobs", b"9")
    for n in range(30):
        assert core.publish(b"jobs", b"%02d" % n) == 2
    frames = b"".join(member.wire() for member in members)
    assert frames.count(b"MSG jobs") == 30
    assert plain.wire().count(b"MSG jobs 9 2\r\n") == 30


def test_a_message_limit_ends_the_subscription_after_the_last_message():
    core = Core()
    receiver, subscription = core.receiver("lim", b"1", max_msgs=2)
    assert [core.publish(b"lim", b"x") for _ in range(3)] == [1, 1, 0]
    assert receiver.wire() == b"MSG lim 1 1\r\nx\r\n" * 2
    assert core.sublist.count == 0


def test_a_new_subscription_invalidates_the_cached_plan():
    core = Core()
    first, _ = core.receiver("late", b"1")
    core.publish(b"late", b"a")
    second, _ = core.receiver("*", b"2")
    core.publish(b"late", b"b")
    assert first.wire() == b"MSG late 1 1\r\na\r\nMSG late 1 1\r\nb\r\n"
    assert second.wire() == b"MSG late 2 1\r\nb\r\n"


def test_a_run_of_identical_frames_is_appended_in_order():
    core = Core()
    receiver, subscription = core.receiver("run", b"4")
    payloads = [memoryview(b"%d\r\n" % n) for n in range(5)]
    core.router.publish_run(b"run", 1, payloads)
    assert receiver.wire() == b"".join(b"MSG run 4 1\r\n%d\r\n" % n for n in range(5))
    core.settle()
    assert subscription.delivered == 5


def test_internal_receivers_are_kept_apart_and_make_runs_go_message_by_message():
    core = Core()
    got = []
    core.sublist.insert(Subscription(InternalSubscriber(lambda *message: got.append(message)), "mix", None, b""))
    socket_receiver, _ = core.receiver("mix", b"1")
    plan = core.sublist.match(b"mix")
    assert len(plan.internal) == 1 and len(plan.plain) == 1 and not plan.direct
    core.router.publish_run(b"mix", 1, [memoryview(b"a\r\n"), memoryview(b"b\r\n")])
    assert got == [("mix", None, None, b"a"), ("mix", None, None, b"b")]
    assert socket_receiver.wire() == b"MSG mix 1 1\r\na\r\nMSG mix 1 1\r\nb\r\n"


def test_an_internal_subscriber_that_publishes_back_into_its_own_subject_is_stopped():
    core = Core()
    calls = []

    def echo(subject, reply, headers, payload):
        calls.append(payload)
        data = payload + b"\r\n"
        core.router.publish(subject.encode(), None, -1, len(payload), memoryview(data))

    core.sublist.insert(Subscription(InternalSubscriber(echo), "loop", None, b""))
    core.publish(b"loop", b"x")
    assert 1 < len(calls) <= 16  # bounded nesting, then dropped instead of recursing forever


def test_one_off_subjects_are_delivered_and_counted_without_churning_the_cache():
    core = Core()
    inbox, subscription = core.receiver("_INBOX.abc.*", b"3")
    core.receiver("hot", b"4")
    core.publish(b"hot", b"x")
    hot_plan = core.sublist.match(b"hot")

    for n in range(2000):
        core.router.publish(b"_INBOX.abc.%d" % n, None, -1, 2, memoryview(b"ok\r\n"), once=True)

    assert inbox.wire() == b"".join(b"MSG _INBOX.abc.%d 3 2\r\nok\r\n" % n for n in range(2000))
    # Counted at once (no cached plan holds the counts), and the subject published all the time keeps its plan.
    assert (subscription.delivered, inbox.out_msgs, inbox.out_bytes) == (2000, 2000, 4000)
    assert core.sublist.cache_size() == 1
    assert core.sublist.match(b"hot") is hot_plan


def test_replies_to_an_inbox_wildcard_reach_every_receiver_as_a_plan_per_subject_would():
    core = Core()
    inbox, wildcard = core.receiver("_INBOX.abc.*", b"3")
    plain_only, _ = core.receiver("_INBOX.abc.*", b"8", headers=False)
    exact, _ = core.receiver("_INBOX.abc.7", b"5")
    header = b"NATS/1.0 429 Too Many Requests\r\n\r\n"
    data = header + b"{}\r\n"

    assert core.router.publish(b"_INBOX.abc.1", None, len(header), len(data) - 2, memoryview(data), once=True) == 2
    assert core.router.publish(b"_INBOX.abc.7", b"r.1", -1, 2, memoryview(b"ok\r\n"), once=True) == 3

    assert inbox.wire() == (b"HMSG _INBOX.abc.1 3 %d %d\r\n%s{}\r\n" % (len(header), len(data) - 2, header)
                            + b"MSG _INBOX.abc.7 3 r.1 2\r\nok\r\n")
    assert plain_only.wire() == b"MSG _INBOX.abc.1 8 2\r\n{}\r\nMSG _INBOX.abc.7 8 r.1 2\r\nok\r\n"
    assert exact.wire() == b"MSG _INBOX.abc.7 5 r.1 2\r\nok\r\n"
    assert (wildcard.delivered, inbox.out_msgs) == (2, 2)


def test_a_reply_inbox_with_a_message_limit_still_ends_after_its_last_message():
    core = Core()
    inbox, subscription = core.receiver("_INBOX.abc.*", b"3", max_msgs=2)
    for n in range(3):
        core.router.publish(b"_INBOX.abc.%d" % n, None, -1, 2, memoryview(b"ok\r\n"), once=True)

    assert inbox.wire() == b"MSG _INBOX.abc.0 3 2\r\nok\r\nMSG _INBOX.abc.1 3 2\r\nok\r\n"
    assert core.sublist.match(b"_INBOX.abc.9").plain == ()
