"""Consumer configs (pull and push) as nats-server normalises them: defaults applied (zero durations
mean unset), the reference's checks in its order, the reference's key order, zero/false keys left
out; the create-request rules of each subject form; which fields an existing consumer may not change."""

from __future__ import annotations

import datetime
import secrets
import string

from edgenats.jetstream import errors
from edgenats.jetstream.json_fields import int_field, str_field
from edgenats.subjects import is_valid_literal_subject, subject_matches, subjects_overlap

ACK_WAIT_NS = 30_000_000_000
EPHEMERAL_INACTIVE_NS = 5_000_000_000
MIN_HEARTBEAT_NS = 100_000_000
MIN_MAX_EXPIRES_NS = 1_000_000
MAX_WAITING = 512
MAX_ACK_PENDING = 1000
DEFAULT_MAX_CONSUMERS = 1000  # per stream, when its max_consumers is unset (nats-server 2.15's default)
DELIVER_POLICIES = ("all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject")
ACK_POLICIES = ("none", "all", "explicit")
REPLAY_POLICIES = ("instant", "original")
# Changing these is refused with "<label> can not be updated" (checked in this order, as the reference).
IMMUTABLE = (("deliver_policy", "deliver policy"), ("mem_storage", "storage type"), ("direct", "direct"),
             ("opt_start_seq", "start sequence"), ("opt_start_time", "start time"),
             ("ack_policy", "ack policy"), ("replay_policy", "replay policy"),
             ("idle_heartbeat", "heart beats"), ("flow_control", "flow control"))
KEY_ORDER = ("durable_name", "name", "description", "deliver_policy", "opt_start_seq", "opt_start_time", "ack_policy",
             "ack_wait", "max_deliver", "backoff", "filter_subject", "filter_subjects", "replay_policy",
             "rate_limit_bps", "sample_freq", "max_waiting", "max_ack_pending", "flow_control", "headers_only",
             "max_batch", "max_expires", "max_bytes", "deliver_subject", "deliver_group", "idle_heartbeat",
             "inactive_threshold", "num_replicas", "mem_storage", "direct", "metadata")
# Shown even when zero.
ALWAYS_SHOWN = ("deliver_policy", "ack_policy", "replay_policy", "num_replicas")


def generated_name() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


def check_name(name: str) -> None:
    if "/" in name or "\\" in name:
        raise errors.consumer_name_with_path_separator()
    if any(char in name for char in ".*>"):
        raise errors.invalid_config("consumer name can not contain '.', '*', '>', '\\', '/'")


def _int(config: dict, key: str) -> int:
    return int_field(config, key, "ConsumerConfig")


def _str(config: dict, key: str) -> str:
    return str_field(config, key, "ConsumerConfig")


def _enum(config: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = config.get(key) or default
    if value not in allowed:
        raise errors.invalid_json(f"can not unmarshal {value!r}")
    return value


def parse_time(text: str) -> int:
    """An RFC 3339 time (any offset, up to nanoseconds) as UTC ns."""
    head, _, rest = text.partition(".")
    fraction = ""
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, rest = rest[:digits], rest[digits:]
        text = head + rest
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_json(f"parsing time {text!r} as RFC3339") from None
    if moment.tzinfo is None:
        raise errors.invalid_json(f"parsing time {text!r} as RFC3339")
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction + "000000000")[:9])


def _check_push(request: dict, ack: str, deliver_subject: str, stream_subjects: list[str]) -> None:
    if not is_valid_literal_subject(deliver_subject):
        if any(token in ("*", ">") for token in deliver_subject.split(".")):
            raise errors.consumer_error(10079, "consumer deliver subject has wildcards")
        raise errors.consumer_error(10112, "invalid push consumer deliver subject")
    if any(subject_matches(subject, deliver_subject) for subject in stream_subjects):
        raise errors.consumer_error(10081, "consumer deliver subject forms a cycle")
    if _int(request, "max_waiting") > 0:
        raise errors.consumer_error(10080, "consumer in push mode can not set max waiting")
    if _int(request, "max_ack_pending") > 0 and ack == "none":
        raise errors.consumer_error(10082, "consumer requires ack policy for max ack pending")
    if 0 < _int(request, "idle_heartbeat") < MIN_HEARTBEAT_NS:
        raise errors.consumer_error(10083, "consumer idle heartbeat needs to be >= 100ms")


def _check_pull(request: dict) -> None:
    if _int(request, "rate_limit_bps") > 0:
        raise errors.consumer_error(10086, "consumer in pull mode can not have rate limit set")
    if _int(request, "idle_heartbeat") > 0:
        raise errors.consumer_error(10088, "consumer idle heartbeat requires a push based consumer")
    if request.get("flow_control") is True:
        raise errors.consumer_error(10089, "consumer flow control requires a push based consumer")
    if 0 < _int(request, "max_expires") < MIN_MAX_EXPIRES_NS:
        raise errors.consumer_error(10115, "consumer max request expires needs to be >= 1ms")


def _check_start(deliver: str, start_seq: int, start_time: str, filtered: bool) -> None:
    """The start position arguments each deliver policy needs or forbids (10094)."""
    words = {"all": "all", "last": "last", "new": "new", "last_per_subject": "last per subject",
             "by_start_sequence": "by start sequence", "by_start_time": "by start time"}[deliver]
    if deliver == "by_start_sequence" and not start_seq:
        raise errors.invalid_consumer_policy(f"consumer delivery policy is deliver {words}, "
                                             "but optional start sequence is not set")
    if deliver == "by_start_time" and not start_time:
        raise errors.invalid_consumer_policy(f"consumer delivery policy is deliver {words}, "
                                             "but optional start time is not set")
    if start_seq and deliver != "by_start_sequence":
        raise errors.invalid_consumer_policy(f"consumer delivery policy is deliver {words}, "
                                             "but optional start sequence is also set")
    if start_time and deliver != "by_start_time":
        raise errors.invalid_consumer_policy(f"consumer delivery policy is deliver {words}, "
                                             "but optional start time is also set")
    if deliver == "last_per_subject" and not filtered:
        raise errors.invalid_consumer_policy("consumer delivery policy is deliver last per subject, "
                                             "but optional filter subject is not set")


def normalise(request: dict, name: str, durable: bool, generated: bool = False,
              stream_subjects: list[str] | tuple = ()) -> dict:
    """The config to store and echo; `name` is the consumer's final name, not shown when the server
    generated it (as nats-server echoes it). Checks run in the reference's order."""
    deliver = _enum(request, "deliver_policy", DELIVER_POLICIES, "all")
    ack = _enum(request, "ack_policy", ACK_POLICIES, "none")
    replay = _enum(request, "replay_policy", REPLAY_POLICIES, "instant")
    replicas = _int(request, "num_replicas")
    if replicas > 1:
        raise errors.replicas_not_supported()
    backoff = request.get("backoff") or []
    if not isinstance(backoff, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in backoff):
        raise errors.invalid_json("json: cannot unmarshal into Go struct field ConsumerConfig.backoff")
    if any(value < 0 for value in backoff):
        raise errors.consumer_error(10184, "consumer backoff needs to be positive")
    ack_wait = _int(request, "ack_wait")
    if ack_wait < 0:
        raise errors.consumer_error(10183, "consumer ack wait needs to be positive")
    max_deliver = _int(request, "max_deliver")
    max_deliver = -1 if max_deliver == 0 or max_deliver < -1 else max_deliver
    if backoff and max_deliver != -1 and len(backoff) > max_deliver:
        raise errors.consumer_error(10116, "max deliver is required to be > length of backoff values")
    deliver_subject = _str(request, "deliver_subject")
    if deliver_subject:
        _check_push(request, ack, deliver_subject, list(stream_subjects))
    else:
        _check_pull(request)
    direct = request.get("direct") is True
    if direct and not deliver_subject:
        raise errors.consumer_error(10090, "consumer direct requires a push based consumer")
    if direct and durable:
        raise errors.consumer_error(10091, "consumer direct requires an ephemeral consumer")
    filter_subject = _str(request, "filter_subject")
    filter_subjects = list(request.get("filter_subjects") or [])
    if filter_subject and filter_subjects:
        raise errors.duplicate_filters()
    for index, first in enumerate(filter_subjects):
        if any(subjects_overlap(first, second) for second in filter_subjects[index + 1:]):
            raise errors.overlapping_filters()
    start_seq = _int(request, "opt_start_seq")
    start_time = _str(request, "opt_start_time")
    _check_start(deliver, start_seq, start_time, bool(filter_subject or filter_subjects))
    if start_time:
        parse_time(start_time)
    heartbeat = max(_int(request, "idle_heartbeat"), 0)
    if request.get("flow_control") is True and not heartbeat:
        raise errors.consumer_error(10108, "consumer with flow control also needs heartbeats")
    config: dict = {"durable_name": name if durable else "", "name": "" if generated else name,
                    "description": _str(request, "description"), "deliver_policy": deliver,
                    "opt_start_seq": start_seq, "opt_start_time": start_time, "ack_policy": ack}
    config["ack_wait"] = backoff[0] if backoff else ack_wait or (ACK_WAIT_NS if ack != "none" else 0)
    config["max_deliver"] = max_deliver
    config["backoff"] = list(backoff)
    config["filter_subject"] = filter_subject
    config["filter_subjects"] = filter_subjects
    config["replay_policy"] = replay
    config["rate_limit_bps"] = _int(request, "rate_limit_bps")
    config["sample_freq"] = _str(request, "sample_freq")
    config["max_waiting"] = 0 if deliver_subject else (_int(request, "max_waiting") or MAX_WAITING)
    max_ack_pending = _int(request, "max_ack_pending")
    if max_ack_pending < -1:
        max_ack_pending = -1
    config["max_ack_pending"] = max_ack_pending or (MAX_ACK_PENDING if ack != "none" else 0)
    config["flow_control"] = request.get("flow_control") is True
    config["headers_only"] = request.get("headers_only") is True
    config["max_batch"] = max(_int(request, "max_batch"), 0)
    config["max_expires"] = max(_int(request, "max_expires"), 0)
    config["max_bytes"] = max(_int(request, "max_bytes"), 0)
    config["deliver_subject"] = deliver_subject
    config["deliver_group"] = _str(request, "deliver_group")
    config["idle_heartbeat"] = heartbeat
    inactive = max(_int(request, "inactive_threshold"), 0)
    config["inactive_threshold"] = inactive or (0 if durable else EPHEMERAL_INACTIVE_NS)
    config["num_replicas"] = replicas
    config["mem_storage"] = request.get("mem_storage") is True
    config["direct"] = direct
    config["metadata"] = dict(request.get("metadata") or {})
    return {key: config[key] for key in KEY_ORDER if config.get(key) or key in ALWAYS_SHOWN}


def filters(config: dict) -> list[str]:
    """The subjects a consumer delivers: ['>'] when unfiltered."""
    return config.get("filter_subjects") or ([config["filter_subject"]] if config.get("filter_subject") else [">"])


def is_direct(config: dict) -> bool:
    """A direct consumer (a sourcing or mirroring server's): not listed, not counted in the stream."""
    return bool(config.get("direct"))


def is_push(config: dict) -> bool:
    return bool(config.get("deliver_subject"))


def check_update(old: dict, new: dict, bound: bool) -> None:
    """The reference's rules for updating an existing consumer; `bound`: its deliver subject has interest."""
    for key, label in IMMUTABLE:
        if old.get(key) != new.get(key):
            raise errors.consumer_create(f"{label} can not be updated")
    if old.get("deliver_subject") != new.get("deliver_subject"):
        if not old.get("deliver_subject"):
            raise errors.consumer_create("can not update pull consumer to push based")
        if not new.get("deliver_subject"):
            raise errors.consumer_create("can not update push consumer to pull based")
        if bound:
            raise errors.consumer_error(10013, "consumer name already in use")
    if old.get("max_waiting") != new.get("max_waiting"):
        raise errors.consumer_create("max waiting can not be updated")
