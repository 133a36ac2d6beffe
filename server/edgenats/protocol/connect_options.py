"""The JSON of a client's CONNECT (and of an INFO a client sends), accepted as nats-server accepts it.

nats-server decodes both with Go's encoding/json into fixed structs, and this module repeats those
rules without any I/O:

  * the top level must be an object or `null` (which changes nothing);
  * keys match field names case-insensitively (Go's simple folding: K and U+212A, S and U+017F);
    unknown keys and their values are ignored, duplicate keys are applied in order;
  * `null` leaves a field unchanged; a value of the wrong type is an error (bool only from true and
    false, strings only from strings, integers only from integer literals within the Go type's range);
  * invalid UTF-8 and lone surrogate escapes inside strings become U+FFFD; NaN and Infinity are
    not JSON.

A second CONNECT updates the options the first one left, as nats-server unmarshals into the same
struct again. Every error is a MalformedArguments: nats-server closes without an -ERR.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, replace

from edgenats.protocol.errors import MalformedArguments

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INTEGER_RANGES = {
    "int": (-(2**63), 2**63 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1),
    "uint8": (0, 255),
}


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """The options of nats-server's ClientOpts that a client connection uses, with its defaults."""

    echo: bool = True
    verbose: bool = True
    pedantic: bool = True
    user: str = ""
    password: str = ""
    auth_token: str = ""
    nkey: str = ""
    jwt: str = ""
    sig: str = ""
    name: str = ""
    lang: str = ""
    version: str = ""
    protocol: int = 0
    account: str = ""
    new_account: bool = False
    headers: bool = False
    no_responders: bool = False

    def updated(self, argument: bytes) -> ConnectOptions:
        """These options with a CONNECT's JSON argument applied; raises MalformedArguments."""
        changes = _decode(argument, CONNECT_FIELDS)
        return replace(self, **changes) if changes else self

    def credentials(self) -> dict:
        """The fields authentication looks at, under their CONNECT names."""
        return {
            "user": self.user,
            "pass": self.password,
            "auth_token": self.auth_token,
            "nkey": self.nkey,
            "jwt": self.jwt,
            "sig": self.sig,
            "account": self.account,
            "new_account": self.new_account,
        }


# JSON name -> (ConnectOptions attribute or None when only checked, Go type).
CONNECT_FIELDS = {
    "echo": ("echo", "bool"),
    "verbose": ("verbose", "bool"),
    "pedantic": ("pedantic", "bool"),
    "tls_required": (None, "bool"),
    "nkey": ("nkey", "string"),
    "jwt": ("jwt", "string"),
    "sig": ("sig", "string"),
    "auth_token": ("auth_token", "string"),
    "user": ("user", "string"),
    "pass": ("password", "string"),
    "name": ("name", "string"),
    "lang": ("lang", "string"),
    "version": ("version", "string"),
    "protocol": ("protocol", "int"),
    "account": ("account", "string"),
    "new_account": ("new_account", "bool"),
    "headers": ("headers", "bool"),
    "no_responders": ("no_responders", "bool"),
    "import": (None, "permission"),
    "export": (None, "permission"),
    "remote_account": (None, "string"),
    "proxy_sig": (None, "string"),
}

# nats-server's Info struct, which a client's INFO is decoded into and then ignored.
INFO_FIELDS = {
    name: (None, kind)
    for kind, names in (
        ("string", "server_id server_name version git_commit go host ip client_ip nonce cluster domain "
                   "compression remote_account route_account route_acc_add_reqid gateway gateway_url xkey"),
        ("int", "proto port api_lvl route_pool_size route_pool_idx"),
        ("int32", "max_payload"),
        ("uint64", "client_id"),
        ("uint8", "gossip_mode gateway_cmd"),
        ("bool", "headers auth_required tls_required tls_verify tls_available jetstream cluster_dynamic ldm "
                 "connect_info acc_is_sys lnoc lnocu info_on_connect gateway_nrp gateway_iom"),
        ("strings", "connect_urls ws_connect_urls gateway_urls leafnode_urls"),
        ("bytes", "gateway_cmd_payload"),
        ("permission", "import export"),
    )
    for name in names.split()
}

_PERMISSION_FIELDS = {"allow": (None, "strings"), "deny": (None, "strings")}


def check_info(argument: bytes) -> None:
    """Raise MalformedArguments unless nats-server would accept this INFO argument."""
    _decode(argument, INFO_FIELDS)


class _Object(list):
    """A JSON object as its (key, value) pairs, in order and with duplicates."""


class _Number:
    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _decode(argument: bytes, fields: dict) -> dict:
    """The attribute changes a JSON argument makes to a struct described by `fields`."""
    try:
        value = json.loads(
            argument.decode("utf-8", "replace"),
            object_pairs_hook=_Object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError) as error:
        raise MalformedArguments(f"invalid JSON: {error}") from None
    if value is None:
        return {}
    if not isinstance(value, _Object):
        raise MalformedArguments("JSON argument is not an object")
    return _struct(value, fields)


def _struct(pairs: _Object, fields: dict) -> dict:
    changes = {}
    for key, value in pairs:
        field = fields.get(_fold(key))
        if field is None or value is None:
            continue
        attribute, kind = field
        converted = _converted(value, kind, key)
        if attribute is not None:
            changes[attribute] = converted
    return changes


def _fold(key: str) -> str:
    # Field names are ASCII, so only letters folding onto ASCII ones matter: str.lower() already maps
    # the Kelvin sign to k; Go also folds the long s onto s.
    return key.replace("\u017f", "s").lower()


def _converted(value, kind: str, key: str):
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "string":
        if isinstance(value, str):
            return _LONE_SURROGATE.sub("\ufffd", value)
    elif kind in _INTEGER_RANGES:
        if isinstance(value, _Number):
            return _integer(value.literal, kind, key)
    elif kind == "strings":
        if isinstance(value, list) and not isinstance(value, _Object):
            for item in value:
                if item is not None:
                    _converted(item, "string", key)
            return value
    elif kind == "bytes":
        if isinstance(value, str):
            try:
                return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
            except (binascii.Error, ValueError):
                raise MalformedArguments(f"{key}: invalid base64") from None
        if isinstance(value, list) and not isinstance(value, _Object):
            return bytes(_converted(item, "uint8", key) for item in value if item is not None)
    elif kind == "permission":
        if isinstance(value, _Object):
            return _struct(value, _PERMISSION_FIELDS)
    raise MalformedArguments(f"{key}: wrong type for a Go {kind}")


def _integer(literal: str, kind: str, key: str) -> int:
    if "." in literal or "e" in literal or "E" in literal:
        raise MalformedArguments(f"{key}: {literal} is not an integer")
    number = int(literal)
    low, high = _INTEGER_RANGES[kind]
    if not low <= number <= high or (low == 0 and literal.startswith("-")):
        raise MalformedArguments(f"{key}: {literal} out of range")
    return number
