"""Stream configuration: the request's JSON checked the way nats-server decodes it (unknown keys and
wrong types are `invalid JSON`), normalised to the fully populated config nats-server echoes
(zero durations and limits mean "unset"), validated with nats-server's messages, and compared for
CREATE's "same configuration" rule. Features edgenats does not implement are refused by name.
A stream may mirror or source streams of another JetStream domain (`external.api`, sourcing.py)."""

from __future__ import annotations

from typing import Any

from edgenats.jetstream import errors
from edgenats.subjects import is_valid_subject, subjects_overlap

SECOND = 1_000_000_000
DEFAULT_DUPLICATE_WINDOW = 120 * SECOND
MIN_MAX_AGE = SECOND // 10
NAME_FORBIDDEN = frozenset(".*>\\/ \t\r\n")
MAX_NAME_LENGTH = 255
JS_API_SUBJECTS = "$JS.API.>"

# key -> (JSON type check, the Go type named in decode errors)
_INT = "int"
_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("str", "string"),
    "description": ("str", "string"),
    "subjects": ("list", "[]string"),
    "retention": ("enum", "RetentionPolicy"),
    "max_consumers": (_INT, "int"),
    "max_msgs": (_INT, "int64"),
    "max_bytes": (_INT, "int64"),
    "max_age": (_INT, "time.Duration"),
    "max_msgs_per_subject": (_INT, "int64"),
    "max_msg_size": (_INT, "int32"),
    "discard": ("enum", "DiscardPolicy"),
    "storage": ("enum", "StorageType"),
    "num_replicas": (_INT, "int"),
    "no_ack": ("bool", "bool"),
    "template_owner": ("str", "string"),
    "duplicate_window": (_INT, "time.Duration"),
    "placement": ("any", "Placement"),
    "mirror": ("any", "StreamSource"),
    "sources": ("any", "[]*StreamSource"),
    "compression": ("enum", "StoreCompression"),
    "first_seq": (_INT, "uint64"),
    "subject_transform": ("any", "SubjectTransformConfig"),
    "republish": ("any", "RePublish"),
    "allow_direct": ("bool", "bool"),
    "mirror_direct": ("bool", "bool"),
    "discard_new_per_subject": ("bool", "bool"),
    "sealed": ("bool", "bool"),
    "deny_delete": ("bool", "bool"),
    "deny_purge": ("bool", "bool"),
    "allow_rollup_hdrs": ("bool", "bool"),
    "consumer_limits": ("any", "StreamConsumerLimits"),
    "allow_msg_ttl": ("bool", "bool"),
    "subject_delete_marker_ttl": (_INT, "time.Duration"),
    "allow_msg_counter": ("bool", "bool"),
    "allow_atomic": ("bool", "bool"),
    "allow_batched": ("bool", "bool"),
    "allow_msg_schedules": ("bool", "bool"),
    "persist_mode": ("str", "string"),
    "metadata": ("map", "map[string]string"),
    "pedantic": ("bool", "bool"),
}
_ENUMS = {
    "retention": ("limits", "interest", "workqueue"),
    "discard": ("old", "new"),
    "storage": ("file", "memory"),
    "compression": ("none", "s2"),
}
# Keys whose presence (with a non-empty value) asks for something edgenats does not do: refused.
_UNSUPPORTED = {
    "placement": "placement",
    "subject_transform": "subject transforms",
    "republish": "republish",
    "allow_msg_counter": "message counters",
    "allow_atomic": "atomic batch publish",
    "allow_batched": "batch publish",
    "allow_msg_schedules": "message schedules",
    "template_owner": "stream templates",
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_error(key: str, value: Any) -> errors.ApiError:
    go_type = _FIELDS[key][1]
    return errors.invalid_json(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                               f"StreamConfigRequest.{key} of type {go_type}")


def _decode(request: dict) -> dict:
    """Type checks as Go's decoder (with DisallowUnknownFields) applies them; null means absent."""
    decoded = {}
    for key, value in request.items():
        if key not in _FIELDS:
            raise errors.invalid_json(f'json: unknown field "{key}"')
        if value is None:
            continue
        kind = _FIELDS[key][0]
        if kind == _INT:
            if not isinstance(value, int) or isinstance(value, bool):
                raise _type_error(key, value)
        elif kind in ("str", "enum"):
            if not isinstance(value, str):
                raise _type_error(key, value)
            if kind == "enum" and value.lower() not in _ENUMS[key]:
                raise errors.invalid_json(f'can not unmarshal "\\"{value}\\""')
            value = value.lower() if kind == "enum" else value
        elif kind == "bool":
            if not isinstance(value, bool):
                raise _type_error(key, value)
        elif kind == "list":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise _type_error(key, value)
        elif kind == "map":
            if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
                raise _type_error(key, value)
        decoded[key] = value
    return decoded


def _limit(value: int) -> int:
    """Count and size limits: zero or negative means unlimited, shown as -1."""
    return value if value > 0 else -1


def _refuse_unsupported(config: dict) -> None:
    for key, feature in _UNSUPPORTED.items():
        value = config.get(key)
        if value not in (None, False, 0, "", [], {}):
            raise errors.invalid_config(f"{feature} not supported")
    if config.get("consumer_limits"):
        raise errors.invalid_config("consumer limits not supported")
    if config.get("persist_mode", "default") not in ("default", ""):
        raise errors.invalid_config("persist mode not supported")
    if config.get("num_replicas", 1) > 1:
        raise errors.replicas_not_supported()


_FEATURE = {"mirror": "mirror", "sources": "source"}


def _upstream(value: Any, key: str) -> dict:
    """One mirror or source as nats-server echoes it (name, filter_subject, external); only an
    external stream reached through a JetStream API prefix is supported (sourcing.py)."""
    if not isinstance(value, dict):
        raise errors.invalid_json(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                  f"StreamConfigRequest.{key} of type StreamSource")
    unknown = set(value) - {"name", "filter_subject", "external", "opt_start_seq", "opt_start_time",
                            "subject_transforms", "consumer"}
    if unknown:
        raise errors.invalid_json(f'json: unknown field "{sorted(unknown)[0]}"')
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise errors.invalid_config(f"{_FEATURE[key]} name is required")
    for feature in ("opt_start_seq", "opt_start_time", "subject_transforms", "consumer"):
        if value.get(feature):
            raise errors.invalid_config(f"{_FEATURE[key]} {feature} not supported")
    external = value.get("external")
    if not isinstance(external, dict) or not external.get("api"):
        raise errors.invalid_config(f"local {_FEATURE[key]}s not supported")
    if external.get("deliver"):
        raise errors.invalid_config(f"{_FEATURE[key]} external deliver prefix not supported")
    filter_subject = value.get("filter_subject") or ""
    if filter_subject and not is_valid_subject(filter_subject):
        raise errors.invalid_config(f"{_FEATURE[key]} filter subject is not a valid subject")
    echoed: dict[str, Any] = {"name": name}
    if filter_subject:
        echoed["filter_subject"] = filter_subject
    echoed["external"] = {"api": external["api"], "deliver": ""}
    return echoed


def _upstreams(config: dict) -> dict:
    """`mirror` or `sources` normalised, with nats-server's rules between them and `subjects`."""
    found: dict[str, Any] = {}
    if config.get("mirror"):
        if config.get("subjects"):
            raise errors.ApiError(400, 10034, "stream mirrors can not contain subjects")
        if config.get("sources"):
            raise errors.ApiError(400, 10031, "stream mirrors can not also contain other sources")
        found["mirror"] = _upstream(config["mirror"], "mirror")
    elif config.get("sources"):
        if not isinstance(config["sources"], list):
            raise _type_error("sources", config["sources"])
        found["sources"] = [_upstream(source, "sources") for source in config["sources"]]
        names = [source["name"] for source in found["sources"]]
        if len(set(names)) != len(names):
            raise errors.ApiError(400, 10140, "duplicate source configuration detected")
    return found


def check_name(name: str) -> None:
    if not name or any(ch in NAME_FORBIDDEN for ch in name):
        raise errors.invalid_config("stream name is required and can not contain '.', '*', '>', '\\', '/'")
    if len(name) > MAX_NAME_LENGTH:
        raise errors.invalid_config(f"stream name is too long, maximum allowed is {MAX_NAME_LENGTH}")


def _check_subjects(name: str, subjects: list[str], no_ack: bool) -> list[str]:
    subjects = subjects or [name]
    for subject in subjects:
        if not is_valid_subject(subject):
            raise errors.invalid_config("invalid subject")
    for index, subject in enumerate(subjects):
        for other in subjects[index + 1:]:
            if subjects_overlap(subject, other):
                raise errors.invalid_config(f'subject "{subject}" overlaps with "{other}"')
    if not no_ack:
        if ">" in subjects:
            raise errors.invalid_config("capturing all subjects requires no-ack to be true")
        if any(subjects_overlap(subject, JS_API_SUBJECTS) for subject in subjects):
            raise errors.invalid_config("subjects that overlap with jetstream api require no-ack to be true")
    return subjects


def _durations(config: dict) -> tuple[int, int]:
    max_age = config.get("max_age", 0)
    if max_age < 0:
        raise errors.invalid_config("max age can not be negative")
    if 0 < max_age < MIN_MAX_AGE:
        raise errors.invalid_config("max age needs to be >= 100ms")
    window = config.get("duplicate_window", 0)
    if window < 0:
        raise errors.invalid_config("duplicates window can not be negative")
    if window == 0:
        window = min(DEFAULT_DUPLICATE_WINDOW, max_age) if max_age else DEFAULT_DUPLICATE_WINDOW
    elif max_age and window > max_age:
        raise errors.invalid_config("duplicates window can not be larger then max age")
    return max_age, window


def _marker_ttl(config: dict) -> int:
    """subject_delete_marker_ttl: at least a second; setting it turns on message TTLs and rollups."""
    marker_ttl = config.get("subject_delete_marker_ttl", 0)
    if marker_ttl < 0:
        raise errors.invalid_config("subject delete marker TTL must not be negative")
    if 0 < marker_ttl < SECOND:
        raise errors.invalid_config("subject delete marker TTL must be at least 1 second")
    return marker_ttl


def normalise(request: dict) -> dict:
    """The config as nats-server echoes it, or an ApiError. `request` is the parsed request body."""
    config = _decode(request)
    check_name(config.get("name", ""))
    _refuse_unsupported(config)
    no_ack = config.get("no_ack", False)
    upstreams = _upstreams(config)
    subjects = (_check_subjects(config["name"], config.get("subjects", []), no_ack)
                if config.get("subjects") or not upstreams else [])
    max_age, window = _durations(config)
    discard = config.get("discard", "old")
    per_subject = _limit(config.get("max_msgs_per_subject", 0))
    discard_new_per_subject = config.get("discard_new_per_subject", False)
    if discard_new_per_subject:
        if discard != "new":
            raise errors.invalid_config("discard new per subject requires discard new policy to be set")
        if per_subject <= 0:
            raise errors.invalid_config("discard new per subject requires max msgs per subject > 0")
    if config.get("mirror_direct"):
        raise errors.invalid_config("stream has no mirror but does have mirror direct")
    sealed = config.get("sealed", False)
    marker_ttl = _marker_ttl(config)
    normalised: dict[str, Any] = {"name": config["name"]}
    if config.get("description"):
        normalised["description"] = config["description"]
    if subjects:
        normalised["subjects"] = subjects
    normalised.update({
        "retention": config.get("retention", "limits"),
        "max_consumers": _limit(config.get("max_consumers", 0)),
        "max_msgs": _limit(config.get("max_msgs", 0)),
        "max_bytes": _limit(config.get("max_bytes", 0)),
        "max_age": max_age,
        "max_msgs_per_subject": per_subject,
        "max_msg_size": _limit(config.get("max_msg_size", 0)),
        "discard": discard,
        "storage": config.get("storage", "file"),
        "num_replicas": 1,
        **upstreams,
    })
    if no_ack:
        normalised["no_ack"] = True
    if subjects:  # a stream that only mirrors or sources has no duplicate window
        normalised["duplicate_window"] = window
    normalised["compression"] = config.get("compression", "none")
    if config.get("first_seq", 0) > 0:
        normalised["first_seq"] = config["first_seq"]
    normalised.update({"allow_direct": config.get("allow_direct", False), "mirror_direct": False})
    if discard_new_per_subject:
        normalised["discard_new_per_subject"] = True
    normalised.update({
        "sealed": sealed,
        "deny_delete": config.get("deny_delete", False) or sealed,
        "deny_purge": config.get("deny_purge", False) or sealed,
        "allow_rollup_hdrs": (config.get("allow_rollup_hdrs", False) or marker_ttl > 0) and not sealed,
        "consumer_limits": {},
        "allow_msg_ttl": config.get("allow_msg_ttl", False) or marker_ttl > 0,
    })
    if marker_ttl:
        normalised["subject_delete_marker_ttl"] = marker_ttl
    metadata = {key: value for key, value in config.get("metadata", {}).items() if not key.startswith("_nats.")}
    if metadata:
        normalised["metadata"] = metadata
    return normalised


def check_create(config: dict) -> None:
    if config["sealed"]:
        raise errors.invalid_config("stream configuration for create can not be sealed")


def check_update(old: dict, new: dict) -> None:
    """What an update may not change (nats-server's messages)."""
    if new["storage"] != old["storage"]:
        raise errors.invalid_config("stream configuration update can not change storage type")
    if new["max_consumers"] != old["max_consumers"]:
        raise errors.invalid_config("stream configuration update can not change MaxConsumers")
    if (old["retention"] == "workqueue") != (new["retention"] == "workqueue"):
        raise errors.invalid_config("stream configuration update can not change retention policy to/from workqueue")
    if old["allow_msg_ttl"] and not new["allow_msg_ttl"]:
        raise errors.invalid_config("message TTL status can not be disabled")
    if old.get("mirror") != new.get("mirror"):
        raise errors.ApiError(400, 10055, "stream mirror configuration can not be updated")
    if old.get("sources") != new.get("sources"):
        raise errors.invalid_config("sources update not supported")
    if old["sealed"] and not new["sealed"]:
        raise errors.invalid_config("stream configuration update can not unseal a sealed stream")


def collides(subjects: list[str], filter_subject: str) -> bool:
    """STREAM.NAMES' subject filter: any of the stream's subjects intersects the filter."""
    return any(subjects_overlap(subject, filter_subject) for subject in subjects)
