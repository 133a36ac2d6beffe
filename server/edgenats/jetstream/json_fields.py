"""Typed fields of API request documents, refused as nats-server's Go decoder refuses them: a field of
the wrong JSON type is 400/10025 "json: cannot unmarshal into Go struct field <Struct>.<key> of type
<type>" (the struct name empty for request bodies, `ConsumerConfig` inside a consumer's config)."""

from __future__ import annotations

from edgenats.jetstream import errors


def int_field(document: dict, key: str, struct: str = "", default: int = 0) -> int:
    value = document.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid_json(f"json: cannot unmarshal into Go struct field {struct}.{key} of type int")
    return value


def str_field(document: dict, key: str, struct: str = "") -> str:
    value = document.get(key) or ""
    if not isinstance(value, str):
        raise errors.invalid_json(f"json: cannot unmarshal into Go struct field {struct}.{key} of type string")
    return value
