"""/metrics: the monitoring documents in the Prometheus text exposition format (version 0.0.4), named,
labelled and helped as prometheus-nats-exporter names them when it polls nats-server with
`-varz -connz_detailed -leafz -jsz=all -use_internal_server_id`: `gnatsd_varz_*` (every number of
/varz, flattened), `gnatsd_connz_*` (totals and one series per connection), `gnatsd_leafz_*` (one
series per leaf link) and `jetstream_*` (server, account, stream and consumer series), so dashboards
and alerts built on the exporter read edgenats without it. Values are read from the same JSON
documents the endpoints serve, converted as the exporter converts them (times to epoch
milliseconds, uptimes and idle times to milliseconds, a connection's round trip to microseconds).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The exporter's generic collector: keys it never turns into series, and string keys it keeps as a
# label (`value`) on a series of 1, or as epoch milliseconds when they hold a time.
_VARZ_SKIPPED = {"leaf", "trusted_operators_claim", "cluster_tls_timeout", "cluster_cluster_port",
                 "cluster_auth_timeout", "gateway_port", "gateway_auth_timeout", "gateway_tls_timeout",
                 "gateway_connect_retries"}
_VARZ_LABEL_KEYS = {"server_id", "server_name", "version", "domain", "leader", "name", "start", "config_load_time"}
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|µs|us|ms|s|m|h|d|y)")
_SECONDS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
            "d": 86400.0, "y": 365 * 86400.0}

_CONNZ_TOTALS = ("pending_bytes", "subscriptions", "in_bytes", "out_bytes", "in_msgs", "out_msgs")
_CONNZ_DETAIL_LABELS = ("server_id", "cid", "kind", "type", "ip", "port", "name", "name_tag", "account",
                        "account_id", "lang", "version", "tls_version", "tls_cipher_suite")
_COUNTERS = ("in_bytes", "out_bytes", "in_msgs", "out_msgs")


@dataclass
class Family:
    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


class Exposition:
    """Families by name, written sorted by name as the Go client writes them."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._families

    def add(self, name: str, help_text: str, value: float, labels: dict[str, str], kind: str = "gauge") -> None:
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = Family(name, help_text, kind)
        family.samples.append((labels, value))

    def render(self) -> bytes:
        lines = []
        for name in sorted(self._families):
            family = self._families[name]
            lines.append(f"# HELP {name} {_escape_help(family.help)}")
            lines.append(f"# TYPE {name} {family.type}")
            for labels, value in family.samples:
                text = ",".join(f'{key}="{_escape_label(str(val))}"' for key, val in labels.items())
                lines.append(f"{name}{{{text}}} {_number(value)}")
        return ("\n".join(lines) + "\n").encode("utf-8")


def build_metrics(server_id: str, varz: dict, connz: dict, leafz: dict, jsz: dict) -> bytes:
    """The exposition of one server from its /varz, /connz?auth=true, /leafz and
    /jsz?consumers=true&config=true documents."""
    exposition = Exposition()
    _varz(exposition, server_id, varz)
    _connz(exposition, server_id, connz)
    _leafz(exposition, server_id, leafz)
    _jsz(exposition, server_id, varz.get("server_name", ""), jsz)
    return exposition.render()


def _varz(exposition: Exposition, server_id: str, document: dict, prefix: tuple[str, ...] = ()) -> None:
    for key, value in document.items():
        path = (*prefix, key)
        fqn = re.sub("_+", "_", "_".join(path).replace("/", "_")).strip("_")
        name = f"gnatsd_varz_{fqn}"
        # The exporter keeps the first field of each name (keys that differ only in "/" or "_" meet).
        if fqn in _VARZ_SKIPPED or not _METRIC_NAME.fullmatch(name) or name in exposition:
            continue
        if isinstance(value, dict):
            _varz(exposition, server_id, value, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            exposition.add(name, fqn, value, {"server_id": server_id})
        elif isinstance(value, str) and key in _VARZ_LABEL_KEYS:
            epoch_ms = _epoch_ms(value)
            if epoch_ms is not None:
                exposition.add(name, fqn, epoch_ms, {"server_id": server_id})
            else:
                exposition.add(name, fqn, 1, {"server_id": server_id, "value": value})


def _connz(exposition: Exposition, server_id: str, connz: dict) -> None:
    totals = dict.fromkeys(_CONNZ_TOTALS, 0.0)
    for connection in connz["connections"]:
        labels = {label: str(connection.get(label, "")) for label in _CONNZ_DETAIL_LABELS}
        labels["server_id"] = server_id
        labels["account_id"] = labels["account"]
        for key in _CONNZ_TOTALS:
            totals[key] += connection[key]
            exposition.add(f"gnatsd_connz_{key}", key, connection[key], labels,
                           "counter" if key in _COUNTERS else "gauge")
        exposition.add("gnatsd_connz_start", "epoch time at which the connection was started",
                       _date_ms(connection["start"]), labels, "untyped")
        exposition.add("gnatsd_connz_last_activity", "epoch time at which the last activity was registred",
                       _date_ms(connection["last_activity"]), labels, "untyped")
        exposition.add("gnatsd_connz_rtt", "response time latency in microseconds",
                       math.floor(_seconds(connection["rtt"]) * 1e6) if "rtt" in connection else 0, labels)
        exposition.add("gnatsd_connz_uptime", "uptime duration in milliseconds",
                       math.floor(_seconds(connection["uptime"]) * 1e3), labels, "untyped")
        exposition.add("gnatsd_connz_idle", "idle time duration in milliseconds",
                       math.floor(_seconds(connection["idle"]) * 1e3), labels)
    summary = {"server_id": server_id}
    for key in ("num_connections", "total", "offset", "limit"):
        exposition.add(f"gnatsd_connz_{key}", key, connz[key], summary)
    for key in _CONNZ_TOTALS:
        exposition.add(f"gnatsd_connz_{key}", key, totals[key], summary, "counter" if key in _COUNTERS else "gauge")


def _leafz(exposition: Exposition, server_id: str, leafz: dict) -> None:
    for leaf in leafz["leafs"]:
        account = leaf.get("account", "")
        labels = {"server_id": server_id, "account": account, "account_id": account, "ip": leaf.get("ip", ""),
                  "port": str(leaf.get("port", 0)), "name": leaf.get("name", "")}
        exposition.add("gnatsd_leafz_info", "info", 1, labels)
        exposition.add("gnatsd_leafz_conn_rtt", "rtt", _seconds(leaf.get("rtt", "0s")), labels)
        for key in _COUNTERS:
            exposition.add(f"gnatsd_leafz_conn_{key}", key, leaf.get(key, 0), labels)
        exposition.add("gnatsd_leafz_conn_subscriptions_total", "subscriptions_total",
                       leaf.get("subscriptions", 0), labels)
    exposition.add("gnatsd_leafz_conn_nodes_total", "nodes_total", leafz["leafnodes"], {"server_id": server_id})


_JSZ_SERVER = (
    ("jetstream_server_jetstream_disabled", "JetStream disabled or not"),
    ("jetstream_server_max_memory", "JetStream Max Memory"),
    ("jetstream_server_max_storage", "JetStream Max Storage"),
    ("jetstream_server_total_streams", "Total number of streams in JetStream"),
    ("jetstream_server_total_consumers", "Total number of consumers in JetStream"),
    ("jetstream_server_total_messages", "Total number of stored messages in JetStream"),
    ("jetstream_server_total_message_bytes", "Total number of bytes stored in JetStream"),
)
_JSZ_ACCOUNT = (
    ("jetstream_account_max_storage", "JetStream Account Max Storage in bytes", "reserved_storage"),
    ("jetstream_account_max_memory", "JetStream Account Max Memory in bytes", "reserved_memory"),
    ("jetstream_account_storage_used", "Total number of bytes used by JetStream storage", "storage"),
    ("jetstream_account_memory_used", "Total number of bytes used by JetStream memory", "memory"),
)
_JSZ_STREAM = (
    ("jetstream_stream_total_messages", "Total number of messages from a stream", "messages"),
    ("jetstream_stream_total_bytes", "Total stored bytes from a stream", "bytes"),
    ("jetstream_stream_first_seq", "First sequence from a stream", "first_seq"),
    ("jetstream_stream_last_seq", "Last sequence from a stream", "last_seq"),
    ("jetstream_stream_consumer_count", "Total number of consumers from a stream", "consumer_count"),
    ("jetstream_stream_subject_count", "Total number of subjects in a stream", "num_subjects"),
)
_JSZ_STREAM_LIMITS = (
    ("jetstream_stream_limit_bytes", "The maximum configured storage limit (in bytes) for a JetStream stream. "
     "A value of -1 indicates no limit.", "max_bytes"),
    ("jetstream_stream_limit_messages", "The maximum number of messages allowed in a JetStream stream as per its "
     "configuration. A value of -1 indicates no limit.", "max_msgs"),
)
_JSZ_CONSUMER = (
    ("jetstream_consumer_delivered_consumer_seq", "Latest sequence number of a stream consumer",
     ("delivered", "consumer_seq")),
    ("jetstream_consumer_delivered_stream_seq", "Latest sequence number of a stream", ("delivered", "stream_seq")),
    ("jetstream_consumer_num_ack_pending", "Number of pending acks from a consumer", ("num_ack_pending",)),
    ("jetstream_consumer_num_redelivered", "Number of redelivered messages from a consumer", ("num_redelivered",)),
    ("jetstream_consumer_num_waiting", "Number of inflight fetch requests from a pull consumer", ("num_waiting",)),
    ("jetstream_consumer_num_pending", "Number of pending messages from a consumer", ("num_pending",)),
    ("jetstream_consumer_ack_floor_stream_seq", "Number of ack floor stream seq from a consumer",
     ("ack_floor", "stream_seq")),
    ("jetstream_consumer_ack_floor_consumer_seq", "Number of ack floor consumer seq from a consumer",
     ("ack_floor", "consumer_seq")),
)

# Seconds from a consumer's last delivery or ack to the time of the report, once there was one.
_JSZ_CONSUMER_AGES = (
    ("jetstream_consumer_last_delivery_seconds", "Seconds since last message delivery to consumer", "delivered"),
    ("jetstream_consumer_last_ack_seconds", "Seconds since last ack from consumer", "ack_floor"),
)


def _jsz(exposition: Exposition, server_id: str, server_name: str, jsz: dict) -> None:
    config = jsz.get("config", {})
    # A server without a meta group (not clustered) counts as its own meta leader.
    server_labels = {"server_id": server_id, "server_name": server_name, "cluster": "",
                     "domain": config.get("domain", ""), "meta_leader": "", "is_meta_leader": "true"}
    values = (1 if jsz.get("disabled") else 0, config.get("max_memory", 0), config.get("max_storage", 0),
              jsz["streams"], jsz["consumers"], jsz["messages"], jsz["bytes"])
    for (name, help_text), value in zip(_JSZ_SERVER, values, strict=True):
        exposition.add(name, help_text, value, server_labels)
    for account in jsz.get("account_details", []):
        account_labels = {**server_labels, "account": account["name"], "account_name": account["name"],
                          "account_id": account["id"]}
        for name, help_text, key in _JSZ_ACCOUNT:
            exposition.add(name, help_text, account[key], account_labels)
        for stream in account.get("stream_detail", []):
            _stream(exposition, server_name, account_labels, stream)


def _stream(exposition: Exposition, server_name: str, account_labels: dict[str, str], stream: dict) -> None:
    leader = stream.get("cluster", {}).get("leader", "")
    labels = {**account_labels, "stream_name": stream["name"], "stream_leader": leader,
              "is_stream_leader": "true" if "cluster" not in stream or leader == server_name else "false",
              "stream_raft_group": stream.get("stream_raft_group", "")}
    state = stream["state"]
    for name, help_text, key in _JSZ_STREAM:
        exposition.add(name, help_text, state.get(key, 0), labels)
    if "config" in stream:
        for name, help_text, key in _JSZ_STREAM_LIMITS:
            exposition.add(name, help_text, stream["config"].get(key, -1), labels)
    for consumer in stream.get("consumer_detail", []):
        consumer_leader = consumer.get("cluster", {}).get("leader", "")
        consumer_labels = {**labels, "consumer_name": consumer["name"], "consumer_leader": consumer_leader,
                           "is_consumer_leader": "true" if "cluster" not in consumer
                           or consumer_leader == server_name else "false",
                           "consumer_desc": consumer.get("config", {}).get("description", "")}
        now_ns = _epoch_ns(consumer.get("ts", ""))
        for name, help_text, key in _JSZ_CONSUMER_AGES:
            last_ns = _epoch_ns(consumer.get(key, {}).get("last_active", ""))
            if now_ns is not None and last_ns is not None:
                exposition.add(name, help_text, (now_ns - last_ns) / 1e9, consumer_labels)
        for name, help_text, path in _JSZ_CONSUMER:
            value: object = consumer
            for key in path:
                value = value.get(key, 0) if isinstance(value, dict) else 0
            exposition.add(name, help_text, value, consumer_labels)


def _epoch_ns(text: str) -> int | None:
    """An RFC 3339 time (nanoseconds allowed) as epoch nanoseconds; None when the text is not one."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction or "0")[:9].ljust(9, "0"))


def _epoch_ms(text: str) -> int | None:
    """As the exporter reads a time: epoch milliseconds."""
    ns = _epoch_ns(text)
    return None if ns is None else ns // 1_000_000


def _date_ms(text: str) -> int:
    """A connection's time as the exporter reads it: epoch milliseconds, -1 when it is not a time."""
    epoch_ms = _epoch_ms(text)
    return -1 if epoch_ms is None else epoch_ms


def _seconds(text: str) -> float:
    """A Go duration ("1.5ms", "2m3.1s") or a nats-server uptime ("1d2h3m4s") in seconds."""
    return sum(float(number) * _SECONDS[unit] for number, unit in _DURATION_PART.findall(text))


def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**53):
        return str(int(value))
    return repr(float(value))


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")

