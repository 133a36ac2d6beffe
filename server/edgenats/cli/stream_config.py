"""Stream configs as an operator writes them for `edgenats stream apply`, and how they differ from
what a server holds.

A file holds one stream config or a list of them, in nats-server's StreamConfig JSON (the field names
`nats stream info --json` shows). Durations (`max_age`, `duplicate_window`,
`subject_delete_marker_ttl`) may be Go-style strings such as "24h" and sizes (`max_bytes`,
`max_msg_size`) strings such as "1GB" (nats-server's units); they are sent as nanoseconds and bytes.
A field the file gives is what the stream must have; a field it leaves out keeps the stream's value.
"""

from __future__ import annotations

import json
from typing import Any

from edgenats.cli.errors import CommandError
from edgenats.conf.units import parse_duration, parse_size

DURATION_FIELDS = ("max_age", "duplicate_window", "subject_delete_marker_ttl")
SIZE_FIELDS = ("max_bytes", "max_msg_size")
SERVER_METADATA = "_nats."
NOT_IN_NAMES = frozenset(".*>")


def load_configs(text: str, source: str) -> list[dict[str, Any]]:
    """The stream configs in `text` (from `source`, named in errors), ready to send."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"{source}: not JSON: {error}") from None
    configs = document if isinstance(document, list) else [document]
    if not all(isinstance(config, dict) for config in configs):
        raise CommandError(f"{source}: expected a stream config (a JSON object) or a list of them")
    return [_request(config, source) for config in configs]


def _request(config: dict[str, Any], source: str) -> dict[str, Any]:
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise CommandError(f"{source}: every stream config needs a name")
    if any(char in NOT_IN_NAMES or char.isspace() for char in name):
        # The name is a token of the API subjects the request goes to.
        raise CommandError(f"{source}: stream name {name!r} can not contain '.', '*', '>' or white space")
    request = dict(config)
    for fields, parse, scale in ((DURATION_FIELDS, parse_duration, 1_000_000_000), (SIZE_FIELDS, parse_size, 1)):
        for field in fields:
            if isinstance(request.get(field), str):
                try:
                    request[field] = round(parse(request[field]) * scale)
                except ValueError as error:
                    raise CommandError(f"stream {name}: {field}: {error}") from None
    return request


def differing_fields(wanted: dict[str, Any], held: dict[str, Any]) -> list[str]:
    """The fields of `wanted` whose value `held` does not have. Objects compare by the keys `wanted`
    gives (a server adds defaults such as `external.deliver`), lists item by item."""
    return [field for field in wanted if not _contains(held.get(field), wanted[field])]


def _contains(held: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(held, dict) and all(_contains(held.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (isinstance(held, list) and len(held) == len(wanted)
                and all(_contains(h, w) for h, w in zip(held, wanted, strict=True)))
    return held == wanted


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields a server's update changed, its own metadata (`_nats.*`: versions) left aside."""
    before, after = _without_server_metadata(before), _without_server_metadata(after)
    return [field for field in {**before, **after} if before.get(field) != after.get(field)]


def _without_server_metadata(config: dict[str, Any]) -> dict[str, Any]:
    metadata = {key: value for key, value in config.get("metadata", {}).items()
                if not key.startswith(SERVER_METADATA)}
    return {key: value for key, value in config.items() if key != "metadata"} | (
        {"metadata": metadata} if metadata else {})
