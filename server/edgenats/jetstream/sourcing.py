"""A stream's mirror or sources in another JetStream domain (`external.api`, e.g. `$JS.hub.API`),
pulled the way a nats-server edge pulls them: for each upstream stream a push consumer is created
there (`<api>.CONSUMER.CREATE.<stream>`: ack none, flow control, 1 s idle heartbeats, direct, from
the last stored upstream sequence + 1) delivering to a deliver subject of ours (`$JS.M.<id>` for a
mirror, `$JS.S.<id>` for a source). A mirror stores each message at the upstream's sequence with
the upstream's time and no source header; a source stores it at the stream's next sequence with
`Nats-Stream-Source`. Flow-control requests are answered; when heartbeats stop for three intervals
or the consumer sequence jumps, the consumer is created again (new deliver subject) from where the
stream stands, so a link that goes down and comes back loses and doubles nothing.

States of one upstream: CREATING (create request sent, waiting for its answer) -> ACTIVE
(deliveries and heartbeats flowing) -> STALLED (silent, a gap, or a create that failed: a new
create is due after a pause) -> CREATING ...; STOPPED when the stream goes."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import logging
import secrets
import string
import time
from typing import TYPE_CHECKING, Protocol

from edgenats.protocol.headers import HeaderError, parse_headers

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.jetstream.store import MessageStore

log = logging.getLogger("edgenats.jetstream")

SECOND = 1_000_000_000
HEARTBEAT_NS = SECOND
STALL_AFTER_S = 3.0  # three missed heartbeats
RETRY_S = 0.5  # after a create that failed or timed out, before the next
CREATE_TIMEOUT_S = 2.0
INACTIVE_THRESHOLD_NS = 10 * SECOND
ACK_WAIT_NS = 22 * 3600 * SECOND  # what nats-server's sourcing consumers ask for
STREAM_SOURCE = "Nats-Stream-Source"
_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_STATUS_FLOW_CONTROL = "FlowControl Request"


class SourcedStream(Protocol):
    """What of a stream (stream.py, which imports this module) its upstreams use."""

    account: Account
    config: dict
    store: MessageStore
    domain: str

    @property
    def name(self) -> str: ...

    def append_sourced(self, subject: str, headers: bytes | None, payload: bytes, time_ns: int) -> None: ...


class UpstreamState(enum.Enum):
    CREATING = "creating"
    ACTIVE = "active"
    STALLED = "stalled"
    STOPPED = "stopped"


def api_hash(api: str) -> str:
    """nats-server's 8-character hash of an external API prefix (in the source header's first token)."""
    digest = hashlib.sha256(api.encode()).digest()
    return "".join(_ALPHABET[byte % len(_ALPHABET)] for byte in digest[:8])


def _random_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def _ack_tokens(reply: str | None) -> tuple[int, int, int, int] | None:
    """(stream seq, consumer seq, timestamp ns, pending) from a `$JS.ACK.` reply (v1 or v2 form)."""
    if not reply or not reply.startswith("$JS.ACK."):
        return None
    tokens = reply.split(".")
    if len(tokens) == 9:
        tail = tokens[5:9]
    elif len(tokens) >= 11:
        tail = tokens[7:11]
    else:
        return None
    try:
        sseq, cseq, ts, pending = (int(token) for token in tail)
    except ValueError:
        return None
    return sseq, cseq, ts, pending


class Upstream:
    """One mirror or source of a stream: its consumer in the other domain and what it delivered."""

    def __init__(self, stream: SourcedStream, spec: dict, mirror: bool) -> None:
        self.stream = stream
        self.account = stream.account
        self.spec = spec
        self.mirror = mirror
        self.api = spec["external"]["api"]
        self.filter = spec.get("filter_subject", "")
        self.source_key = f"{spec['name']}:{api_hash(self.api)}"
        self.state = UpstreamState.STALLED
        self.last_sseq = self._stored_position()
        self.last_cseq = 0
        self.lag = 0
        self.active_ns = 0  # last contact (delivery, heartbeat), monotonic; 0 never
        self.identity = ""
        self._failure = ""  # the last create failure logged
        self._subscriptions: list = []
        self._timer: asyncio.TimerHandle | None = None

    # what the stream holds of this upstream ------------------------------------------------------

    def _stored_position(self) -> int:
        """The last upstream sequence stored: a mirror's own last sequence; for a source, the newest
        stored message carrying this source's header."""
        store = self.stream.store
        state = store.state()
        if self.mirror:
            return state.last_seq
        for seq in range(state.last_seq, state.first_seq - 1, -1):
            found = store.get(seq)
            if found is not None and (position := self._source_seq(found.headers)) is not None:
                return position
        return 0

    def _source_seq(self, headers: bytes | None) -> int | None:
        if not headers:
            return None
        try:
            value = parse_headers(headers).get(STREAM_SOURCE)
        except HeaderError:
            return None
        tokens = (value or "").split()
        if len(tokens) >= 2 and tokens[0] == self.source_key and tokens[1].isdigit():
            return int(tokens[1])
        return None

    # the state machine ---------------------------------------------------------------------------

    def start(self) -> None:
        self._create()

    def stop(self) -> None:
        self.state = UpstreamState.STOPPED
        self._end_subscriptions()
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _end_subscriptions(self) -> None:
        for subscription in self._subscriptions:
            self.account.unsubscribe_internal(subscription)
        self._subscriptions = []

    def _after(self, delay_s: float, callback) -> None:
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(delay_s, callback)

    def _create(self) -> None:
        """CREATING: a new deliver subject and a create request from the last stored sequence + 1."""
        if self.state is UpstreamState.STOPPED:
            return
        self._end_subscriptions()
        self.state = UpstreamState.CREATING
        self.last_cseq = 0
        kind = "M" if self.mirror else "S"
        deliver = f"$JS.{kind}.{_random_id()}"
        inbox = f"$JSC.R.{_random_id()}"
        self._subscriptions = [self.account.subscribe_internal(deliver, self._delivered),
                               self.account.subscribe_internal(inbox, self._created)]
        config: dict = {"name": f"JS_{'MIRROR' if self.mirror else 'SRC'}_{_random_id()}"}
        if self.last_sseq:
            config.update({"deliver_policy": "by_start_sequence", "opt_start_seq": self.last_sseq + 1})
        else:
            config["deliver_policy"] = "all"
        config.update({"ack_policy": "none", "ack_wait": ACK_WAIT_NS, "max_deliver": 1})
        if self.filter:
            config["filter_subject"] = self.filter
        label = "mirror" if self.mirror else "src"
        config.update({
            "replay_policy": "instant", "flow_control": True, "deliver_subject": deliver,
            "idle_heartbeat": HEARTBEAT_NS, "inactive_threshold": INACTIVE_THRESHOLD_NS, "num_replicas": 0,
            "direct": True,
            "metadata": {f"_nats.{label}.acc": self.account.name, f"_nats.{label}.domain": self.stream.domain,
                         f"_nats.{label}.stream": self.stream.name},
        })
        request = {"stream_name": self.spec["name"], "config": config, "action": ""}
        self._after(CREATE_TIMEOUT_S, self._stall)
        received = self.account.publish_internal(f"{self.api}.CONSUMER.CREATE.{self.spec['name']}",
                                                 json.dumps(request, separators=(",", ":")).encode(), reply=inbox)
        if not received:  # no route to that API (the link is down): try again soon
            self._stall()

    def _created(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        if self.state is not UpstreamState.CREATING:
            return
        try:
            document = json.loads(payload)
        except ValueError:
            document = {}
        if not isinstance(document, dict) or "error" in document or "name" not in document:
            why = payload[:200].decode(errors="replace")
            if why != self._failure:  # once per kind of failure, not once per retry
                self._failure = why
                log.warning("stream %s: creating the consumer on %s in %s failed: %s", self.stream.name,
                            self.spec["name"], self.api, why)
            self._stall()
            return
        self._failure = ""
        if headers:
            try:
                self.identity = parse_headers(headers).get("Nats-Stream-Identity") or ""
            except HeaderError:
                self.identity = ""
        self.account.unsubscribe_internal(self._subscriptions.pop())  # the inbox (last): one answer
        self.state = UpstreamState.ACTIVE
        self._contact()

    def _contact(self) -> None:
        """Heard from the consumer: the silence clock restarts (a create's answer is still awaited
        on its own, shorter, clock)."""
        self.active_ns = time.monotonic_ns()
        if self.state is UpstreamState.ACTIVE:
            self._after(STALL_AFTER_S, self._stall)

    def _stall(self) -> None:
        """STALLED: silent, a gap, or no consumer: a new one is created after a pause."""
        if self.state is UpstreamState.STOPPED:
            return
        self._end_subscriptions()
        self.state = UpstreamState.STALLED
        self._after(RETRY_S, self._create)

    def _restart(self) -> None:
        """A gap: the consumer is created again at once from where the stream stands."""
        self._end_subscriptions()
        self.state = UpstreamState.STALLED
        self._after(0.0, self._create)

    # deliveries ----------------------------------------------------------------------------------

    def _delivered(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> None:
        """Deliveries may come before the create's answer: the deliver subject is this create's own."""
        if self.state not in (UpstreamState.CREATING, UpstreamState.ACTIVE):
            return
        if headers and headers.startswith(b"NATS/1.0 100"):
            self._status(reply, headers)
            return
        tokens = _ack_tokens(reply)
        if tokens is None:
            return
        sseq, cseq, ts, pending = tokens
        self._contact()
        if cseq != self.last_cseq + 1:
            self._restart()
            return
        self.last_cseq = cseq
        self.lag = pending
        if sseq <= self.last_sseq:
            return  # stored already
        if self.mirror:
            if sseq > self.last_sseq + 1:
                self._skip_to(sseq)
            self.stream.append_sourced(subject, headers, payload, ts)
        else:
            header = f"{STREAM_SOURCE}: {self.source_key} {sseq} {self.filter or '>'} > {subject}"
            if self.identity:
                header += f" {self.identity}"
            self.stream.append_sourced(subject, _with_header(headers, header), payload, time.time_ns())
        self.last_sseq = sseq

    def _skip_to(self, sseq: int) -> None:
        """A mirror's upstream starts later or lost messages: an empty mirror with nothing being
        stored starts at `sseq`; after stored messages the missing sequences are skipped, so the
        mirror stays at the upstream's sequences (as nats-server's mirrors do)."""
        state = self.stream.store.state()
        if state.messages == 0 and state.last_seq == self.last_sseq:
            self.stream.store.set_first_seq(sseq)
        else:
            log.warning("stream %s: mirror sequences %d-%d are missing upstream", self.stream.name,
                        self.last_sseq + 1, sseq - 1)
            self.stream.store.skip_to(sseq)

    def _status(self, reply: str | None, headers: bytes) -> None:
        """Idle heartbeat or flow-control request; a heartbeat naming a later consumer sequence than
        the last delivered one means deliveries were lost: the consumer is made again."""
        self._contact()
        first_line = headers.split(b"\r\n", 1)[0].decode(errors="replace")
        if _STATUS_FLOW_CONTROL in first_line:
            if reply:
                self.account.publish_internal(reply, b"")
            return
        try:
            last = parse_headers(headers).get("Nats-Last-Consumer")
        except HeaderError:
            last = None
        if last is not None and last.isdigit() and int(last) > self.last_cseq:
            self._restart()
        if reply:  # a heartbeat carrying a stalled flow-control reply
            self.account.publish_internal(reply, b"")

    # STREAM.INFO ---------------------------------------------------------------------------------

    def info(self) -> dict:
        """The `mirror` / `sources` entry of STREAM.INFO, in nats-server's shape."""
        active = time.monotonic_ns() - self.active_ns if self.active_ns else -1
        document: dict = {"name": self.spec["name"], "external": self.spec["external"], "lag": self.lag}
        if not self.mirror and self.last_sseq:
            document["seq"] = self.last_sseq
        document["active"] = active
        if self.filter:
            document["filter_subject"] = self.filter
        return document


def _with_header(headers: bytes | None, line: str) -> bytes:
    if not headers:
        return f"NATS/1.0\r\n{line}\r\n\r\n".encode()
    return headers[:-2] + line.encode() + b"\r\n\r\n"


class Sourcing:
    """A stream's upstreams: its mirror, or its sources."""

    def __init__(self, stream: SourcedStream) -> None:
        config = stream.config
        self.mirror: Upstream | None = Upstream(stream, config["mirror"], True) if config.get("mirror") else None
        self.sources = [Upstream(stream, spec, False) for spec in config.get("sources", [])]

    def all(self) -> list[Upstream]:
        return ([self.mirror] if self.mirror else []) + self.sources

    def start(self) -> None:
        for upstream in self.all():
            upstream.start()

    def stop(self) -> None:
        for upstream in self.all():
            upstream.stop()

    def info(self) -> dict:
        if self.mirror is not None:
            return {"mirror": self.mirror.info()}
        if self.sources:
            return {"sources": [source.info() for source in self.sources]}
        return {}
