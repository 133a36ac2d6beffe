"""Pull consumer configs as nats-server normalises them: defaults applied (zero durations mean
unset), the reference's key order, zero/false keys left out; the create-request rules of each
subject form; which fields an existing consumer may not change."""

from __future__ import annotations

import secrets
import string

from edgenats.jetstream import errors
from edgenats.subjects import subjects_overlap

ACK_WAIT_NS = 30_000_000_000
EPHEMERAL_INACTIVE_NS = 5_000_000_000
MAX_WAITING = 512
MAX_ACK_PENDING = 1000
DELIVER_POLICIES = ("all", "last", "new", "by_start_sequence", "last_per_subject")
ACK_POLICIES = ("none", "all", "explicit")
IMMUTABLE = {"deliver_policy": "deliver policy", "opt_start_seq": "start sequence",
             "ack_policy": "ack policy", "replay_policy": "replay policy"}
KEY_ORDER = ("durable_name", "name", "description", "deliver_policy", "opt_start_seq", "ack_policy", "ack_wait",
             "max_deliver", "filter_subject", "filter_subjects", "replay_policy", "max_waiting",
             "max_ack_pending", "inactive_threshold", "num_replicas", "metadata")


def generated_name() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


def check_name(name: str) -> None:
    if "/" in name or "\\" in name:
        raise errors.consumer_name_with_path_separator()
    if any(char in name for char in ".*>"):
        raise errors.invalid_config("consumer name can not contain '.', '*', '>', '\\', '/'")


def _int(config: dict, key: str) -> int:
    value = config.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid_json(f"json: cannot unmarshal into Go struct field ConsumerConfig.{key} of type int")
    return value


def normalise(request: dict, name: str, durable: bool, generated: bool = False) -> dict:
    """The config to store and echo; `name` is the consumer's final name, not shown when the server
    generated it (as nats-server echoes it)."""
    if request.get("deliver_subject"):
        raise errors.not_supported("push consumers")
    deliver = request.get("deliver_policy") or "all"
    ack = request.get("ack_policy") or "none"
    if deliver not in DELIVER_POLICIES:
        raise errors.not_supported(f"deliver policy {deliver}")
    if ack not in ACK_POLICIES:
        raise errors.invalid_json(f"can not unmarshal {ack!r}")
    start_seq = _int(request, "opt_start_seq")
    if deliver == "by_start_sequence" and start_seq <= 0:
        raise errors.invalid_consumer_policy(
            "consumer delivery policy is deliver by start sequence, but optional start sequence is not set")
    if deliver != "by_start_sequence" and start_seq:
        raise errors.invalid_consumer_policy("consumer delivery policy is not deliver by start sequence, "
                                             "but optional start sequence is set")
    filter_subject = request.get("filter_subject") or ""
    filter_subjects = list(request.get("filter_subjects") or [])
    if filter_subject and filter_subjects:
        raise errors.duplicate_filters()
    for index, first in enumerate(filter_subjects):
        if any(subjects_overlap(first, second) for second in filter_subjects[index + 1:]):
            raise errors.overlapping_filters()
    if deliver == "last_per_subject" and not (filter_subject or filter_subjects):
        raise errors.invalid_consumer_policy(
            "consumer delivery policy is deliver last per subject, but optional filter subject is not set")
    if _int(request, "num_replicas") > 1:
        raise errors.replicas_not_supported()
    config: dict = {"durable_name": name if durable else "", "name": "" if generated else name,
                    "description": request.get("description") or "", "deliver_policy": deliver,
                    "opt_start_seq": start_seq, "ack_policy": ack}
    if ack != "none":
        config["ack_wait"] = _int(request, "ack_wait") or ACK_WAIT_NS
    config["max_deliver"] = _int(request, "max_deliver") or -1
    config["filter_subject"] = filter_subject
    config["filter_subjects"] = filter_subjects
    config["replay_policy"] = request.get("replay_policy") or "instant"
    config["max_waiting"] = _int(request, "max_waiting") or MAX_WAITING
    if ack != "none":
        config["max_ack_pending"] = _int(request, "max_ack_pending") or MAX_ACK_PENDING
    config["inactive_threshold"] = _int(request, "inactive_threshold") or (0 if durable else EPHEMERAL_INACTIVE_NS)
    config["num_replicas"] = 0
    config["metadata"] = dict(request.get("metadata") or {})
    return {key: config[key] for key in KEY_ORDER if config.get(key) or key == "num_replicas"}


def filters(config: dict) -> list[str]:
    """The subjects a consumer delivers: ['>'] when unfiltered."""
    return config.get("filter_subjects") or ([config["filter_subject"]] if config.get("filter_subject") else [">"])


def check_update(old: dict, new: dict) -> None:
    for key, label in IMMUTABLE.items():
        if old.get(key) != new.get(key):
            raise errors.consumer_create(f"{label} can not be updated")
