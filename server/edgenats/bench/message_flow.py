"""Publish-only, fan-out, fan-in and queue-group runs: publishers (open loop or paced), counting
subscribers (on the same server, or on one joined to it), no loss allowed."""

from __future__ import annotations

import time

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import OrderCheck, cycle_length, msg_header, sub_frame
from edgenats.bench.interest_probe import PROBE_SID, ProbedSubscriber, probe_subjects, wait_for_interest
from edgenats.bench.loadgen import CountingSubscriber, Pacing, Publisher, publish_together
from edgenats.bench.probes import CpuSnapshot, ProcessProbe
from edgenats.bench.results import ScenarioResult
from edgenats.bench.settings import BenchSettings
from edgenats.bench.wire import Endpoint, open_connection

QUEUE_GROUP = "bench-workers"
DELIVERY_POLL_S = 0.001
SUBSCRIPTION_ID = 1


def run_message_flow(
    server_label: str,
    scenario: str,
    size: int,
    subscriber_count: int,
    queue_group: bool,
    publisher_count: int,
    settings: BenchSettings,
    endpoint: Endpoint,
    server: ProcessProbe | None,
    loadgen: ProcessProbe,
    subscriber_endpoint: Endpoint | None = None,
) -> ScenarioResult:
    """Publish to `endpoint` and count at subscribers connected to `subscriber_endpoint` (a server joined
    to it by a link or route: their interest is probed across before anything is published) or, without
    it, to `endpoint` too."""
    subject = f"bench.{scenario}"
    unit = "deliveries" if subscriber_count > 1 and not queue_group else "msgs"
    result = ScenarioResult(server_label, scenario, size, unit)
    group = QUEUE_GROUP if queue_group else None
    subscribers: list[CountingSubscriber] = []
    uneven: list[int] = []
    publisher_socks = []
    probes = probe_subjects(subscriber_count) if subscriber_endpoint is not None else []
    # Each publisher counts from its own multiple of the cycle, so subscribers can tell them apart;
    # queue-group members see only a share of each publisher's messages: their order is not checked.
    cycle = cycle_length(subject, size)
    check_order = settings.check_order and not queue_group
    try:
        for index in range(subscriber_count):
            setup = sub_frame(subject, SUBSCRIPTION_ID, group)
            if probes:
                setup += sub_frame(probes[index], PROBE_SID)
            order = OrderCheck(len(msg_header(subject, SUBSCRIPTION_ID, size)), size, cycle,
                               publisher_count) if check_order else None
            sock = open_connection(subscriber_endpoint or endpoint, f"bench-sub-{index}", setup)
            subscribers.append(CountingSubscriber(sock, subject, SUBSCRIPTION_ID, size, f"bench-sub-{index}", order))
        for index in range(publisher_count):
            publisher_socks.append(open_connection(endpoint, f"bench-pub-{index}"))
        if probes:
            probed = [ProbedSubscriber(s.sock, probe) for s, probe in zip(subscribers, probes, strict=True)]
            wait_for_interest(publisher_socks[0], probed, settings.stall_timeout_s)
        for subscriber in subscribers:
            subscriber.start()

        def delivered_per_subscriber() -> int:
            counts = [subscriber.count for subscriber in subscribers]
            return sum(counts) if queue_group else min(counts)

        publishers: list[Publisher] = []

        def behind() -> int:
            return sum(publisher.sent for publisher in publishers) - delivered_per_subscriber()

        chunk_bytes = settings.chunk_bytes if settings.paced else settings.write_bytes
        for index, sock in enumerate(publisher_socks):
            pacing = Pacing(settings.pings_in_flight, settings.window_chunks,
                            behind if subscribers else None) if settings.paced else None
            publishers.append(Publisher(sock, subject, size, chunk_bytes, settings.stall_timeout_s, pacing,
                                        index * cycle if check_order else 0))
        copies = 1 if queue_group else subscriber_count
        warmup = publish_together(publishers, settings.warmup_msgs(publishers[0].per_chunk), None)
        for publisher in publishers:
            publisher.settle()
        _wait_for_deliveries(subscribers, warmup, queue_group, settings.stall_timeout_s)

        start = CpuSnapshot.take(server, loadgen)
        until = None if settings.msgs is not None else start.wall + settings.duration_s
        published = publish_together(publishers, settings.msgs, until)
        for publisher in publishers:
            publisher.settle()
        if subscribers:
            result.expected = published * copies
            _wait_for_deliveries(subscribers, warmup + published, queue_group, settings.stall_timeout_s)
            result.counted = sum(subscriber.count for subscriber in subscribers) - warmup * copies
            uneven = [s.count - warmup for s in subscribers if s.count - warmup != published]
            end_wall = max(subscriber.last_receive for subscriber in subscribers)
        else:
            result.expected = result.counted = published
            end_wall = time.perf_counter()
        end = CpuSnapshot.take(server, loadgen)
        result.elapsed_s = end_wall - start.wall
        result.loadgen_cpu_s = end.loadgen_cpu - start.loadgen_cpu
        if server is not None:
            result.server_cpu_s = end.server_cpu - start.server_cpu
            result.server_rss_bytes = server.rss_bytes()
        failures = [subscriber.failure for subscriber in subscribers if subscriber.failure]
        if failures:
            result.error = f"subscriber failed: {failures[0]}"
        elif result.counted < result.expected:
            result.error = f"{result.lost} of {result.expected} {unit} not delivered"
        elif result.counted > result.expected:
            result.error = f"{-result.lost} {unit} more than the {result.expected} expected (duplicates)"
        elif not queue_group and subscribers and uneven:
            result.error = f"a subscriber counted {uneven[0]} of {published} messages"
    except (BenchError, OSError) as error:
        result.error = str(error)
    finally:
        for subscriber in subscribers:
            if subscriber.is_alive():
                subscriber.stop()
            else:
                subscriber.sock.close()
        for sock in publisher_socks:
            sock.close()
    return result


def _wait_for_deliveries(
    subscribers: list[CountingSubscriber], published: int, queue_group: bool, stall_timeout_s: float
) -> None:
    """Wait until every subscriber (a queue group: all members together) counted `published` messages,
    or until they make no progress for `stall_timeout_s`."""
    last_seen, last_progress = -1, time.perf_counter()
    while subscribers:
        counts = [subscriber.count for subscriber in subscribers]
        if (sum(counts) if queue_group else min(counts)) >= published:
            return
        counted = sum(counts)
        now = time.perf_counter()
        if counted != last_seen:
            last_seen, last_progress = counted, now
        elif now - last_progress > stall_timeout_s or any(not s.is_alive() for s in subscribers):
            return
        time.sleep(DELIVERY_POLL_S)
