"""An account: the isolated subject space its connections share (its subscription trie), the one
routing path every publisher in it uses, and the internal publish/subscribe that services inside
the server (JetStream, `$SYS`, imports) use exactly as a client would, with interest watches (a
service told when a subject gains or loses receivers: JetStream push consumers), and which receivers
pace the JetStream deliveries they take (leaf links, by their remote's `pacing.Pacer`)."""

from __future__ import annotations

from collections.abc import Callable

from edgenats.delivery import DeliveryPlan, ReplyPlan
from edgenats.internal import InternalCallback, InternalSubscriber
from edgenats.pacing import Pacer
from edgenats.routing import Router
from edgenats.sublist import Subscription, SubscriptionTrie

GLOBAL_ACCOUNT = "$G"


class Account(Router):
    """Publishers call the routing path it inherits: publish, publish_run, publish_from_link."""

    __slots__ = ("name", "connections", "pacers")

    def __init__(self, name: str, mark_dirty) -> None:
        """`mark_dirty(connection)` schedules a connection's flush for the end of the loop turn."""
        # The trie caches, per published subject, the plan that delivers to its subscribers.
        super().__init__(SubscriptionTrie(DeliveryPlan, DeliveryPlan.settle, ReplyPlan.of), mark_dirty)
        self.name = name
        self.connections: set = set()
        # Receivers (leaf links) whose deliveries are paced and measured: the link's remote's pacer.
        self.pacers: dict[object, Pacer] = {}

    def settle_counters(self) -> None:
        """Bring every delivery counter up to date (cached plans count bulk deliveries themselves)."""
        for plan in self.sublist.cached():
            plan.settle()

    # inside the server -------------------------------------------------------------------------

    def subscribe_internal(self, subject: str, callback: InternalCallback, queue: str | None = None) -> Subscription:
        """Receive messages on `subject` (wildcards allowed) as callback(subject, reply, headers, payload)."""
        subscription = Subscription(InternalSubscriber(callback), subject, queue, b"")
        self.sublist.insert(subscription)
        return subscription

    def unsubscribe_internal(self, subscription: Subscription) -> None:
        self.sublist.remove(subscription)

    def watch_interest(self, subject: str, callback: Callable[[], None]) -> tuple[str, Callable[[], None]]:
        """Call `callback()` after each subscription on exactly `subject` (a literal subject) comes or
        goes, as nats-server's interest notifications; returns the handle `unwatch_interest` takes."""
        self.sublist.watches.setdefault(subject, []).append(callback)
        return subject, callback

    def unwatch_interest(self, watch: tuple[str, Callable[[], None]]) -> None:
        subject, callback = watch
        callbacks = self.sublist.watches.get(subject, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            self.sublist.watches.pop(subject, None)

    def has_exact_interest(self, subject: str, queue: str | None = None) -> bool:
        """Whether a subscription is on exactly `subject` (plain, or a member of queue group `queue`)."""
        return self.sublist.count_exact(subject, queue) > 0

    def pacer_for(self, subject: str, queue: str | None = None) -> Pacer | None:
        """The pacer of a receiver subscribed on exactly `subject` (a JetStream deliver subject whose
        interest is across a leaf link), if any."""
        if not self.pacers:
            return None
        for subscription in self.sublist.exact(subject, queue):
            pacer = self.pacers.get(subscription.target)
            if pacer is not None:
                return pacer
        return None

    def publish_internal(self, subject: str, payload: bytes = b"", reply: str | None = None,
                         headers: bytes | None = None, *, once: bool = False) -> int:
        """Publish as a client would (headers: a whole `NATS/1.0` block); returns how many received it.
        `once`: `subject` is published this once (an answer on a request's reply subject), so its
        delivery plan is not cached."""
        header_size, data = _framed(payload, headers)
        return self.publish(subject.encode("latin-1"), reply.encode("latin-1") if reply is not None else None,
                            header_size, len(data) - 2, memoryview(data), once=once)

    def publish_internal_as(self, to: str, subject: str, payload: bytes = b"", reply: str | None = None,
                            headers: bytes | None = None) -> int:
        """Like publish_internal to `to`, but the receivers see the message on `subject`."""
        header_size, data = _framed(payload, headers)
        return self.deliver_as(to.encode("latin-1"), subject.encode("latin-1"),
                               reply.encode("latin-1") if reply is not None else None,
                               header_size, len(data) - 2, memoryview(data))


def _framed(payload: bytes, headers: bytes | None) -> tuple[int, bytes]:
    """(header size, -1 without headers; headers + payload + CRLF) as the routing path takes a message."""
    if headers is None:
        return -1, payload + b"\r\n"
    return len(headers), headers + payload + b"\r\n"
