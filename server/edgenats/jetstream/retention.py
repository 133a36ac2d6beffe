"""Interest and workqueue retention: which stored messages no consumer needs any more, and the
workqueue stream's rules for new consumers (nats-server's 10084, 10098, 10099, 10100, 10101).

A consumer is done with a message once it was delivered and is no longer outstanding (acked or
terminated; with ack none, delivered). Interest streams remove a message once every consumer whose
filter matches it is done with it, so a message no consumer matches is removed at once; workqueue
streams remove it once its one matching consumer is done with it, and keep it while none matches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenats.jetstream import consumer_config, errors
from edgenats.subjects import subject_matches, subjects_overlap

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edgenats.jetstream.consumer import Consumer
    from edgenats.jetstream.store import MessageStore

LIMITS = "limits"
INTEREST = "interest"
WORKQUEUE = "workqueue"


def check_new_consumer(retention: str, consumers: Iterable[Consumer], config: dict) -> None:
    """A consumer about to be created on a workqueue stream: explicit acks, deliver all, and no filter
    shared with another consumer."""
    if retention != WORKQUEUE:
        return
    if not config.get("deliver_subject") and config["ack_policy"] == "none":
        raise errors.ApiError(400, 10084, "consumer in pull mode requires explicit ack policy on workqueue stream")
    if config["ack_policy"] != "explicit":
        raise errors.ApiError(400, 10098, "workqueue stream requires explicit ack")
    if config["deliver_policy"] != "all":
        raise errors.ApiError(400, 10101, "consumer must be deliver all on workqueue stream")
    new_filters = consumer_config.filters(config)
    for other in consumers:
        if new_filters == [">"] and other.filters == [">"]:
            raise errors.ApiError(400, 10099, "multiple non-filtered consumers not allowed on workqueue stream")
        if any(subjects_overlap(mine, theirs) for mine in new_filters for theirs in other.filters):
            raise errors.ApiError(400, 10100, "filtered consumer not unique on workqueue stream")


def _done_with(consumer: Consumer, seq: int) -> bool:
    return seq <= consumer.delivered_sseq and seq not in consumer.outstanding


def releasable(retention: str, consumers: Iterable[Consumer], seq: int, subject: str) -> bool:
    """Whether the message may be removed under this retention."""
    if retention == LIMITS:
        return False
    matching = [c for c in consumers if any(subject_matches(f, subject) for f in c.filters)]
    if retention == WORKQUEUE and not matching:
        return False
    return all(_done_with(consumer, seq) for consumer in matching)


def release(retention: str, consumers: Iterable[Consumer], store: MessageStore, seqs: Iterable[int]) -> None:
    """Remove, durably, those of `seqs` no consumer needs any more."""
    consumers = list(consumers)
    for seq in seqs:
        found = store.get(seq)
        if found is not None and releasable(retention, consumers, seq, found.subject):
            store.delete(seq)


def stored_up_to(store: MessageStore, last: int | None = None) -> list[int]:
    """The sequences stored from the first up to `last` (all when None)."""
    seqs = []
    found = store.oldest()
    while found is not None and (last is None or found.seq <= last):
        seqs.append(found.seq)
        found = store.next_for_subject(">", found.seq + 1)
    return seqs
