"""Per-user publish/subscribe permissions with nats-server's exact matching rules.

Publish: allowed iff the subject matches an allow entry (when there is an allow list) and no deny entry.
Subscribe: the subscription subject is matched *as a literal* against the entries, so allow `foo.*`
permits `SUB foo.>` but not `SUB >`; entries written `"subject queue"` only concern queue subscriptions.
A wider subscription that overlaps a deny entry is accepted; `may_deliver` filters its messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgenats.subjects import is_valid_subject, subject_matches

from .durations import seconds_from_config
from .errors import AuthConfigError

# nats-server refuses queue subscriptions in this group for every client connection.
RESERVED_QUEUE_GROUP = "_sys_"

DEFAULT_RESPONSE_MAX_MSGS = 1
DEFAULT_RESPONSE_EXPIRES = 120.0

# Bound on the per-Permissions caches; when full they are emptied and refilled by the hot subjects.
_CACHE_LIMIT = 1024


@dataclass(frozen=True)
class ResponsePermission:
    """`allow_responses`: publish to reply subjects of received requests, `max_msgs` times within
    `expires` seconds. Zero or negative values mean unlimited."""

    max_msgs: int = DEFAULT_RESPONSE_MAX_MSGS
    expires: float = DEFAULT_RESPONSE_EXPIRES


@dataclass(frozen=True)
class SubjectRule:
    """One permission entry: a subject (wildcards allowed), optionally restricted to a queue group."""

    subject: str
    queue: str | None = None

    @classmethod
    def parse(cls, entry: str, allow_queue: bool, where: str) -> SubjectRule:
        if not isinstance(entry, str):
            raise AuthConfigError(f"{where}: permission subjects must be strings, got {entry!r}")
        if is_valid_subject(entry):
            return cls(entry)
        parts = entry.split()
        if not allow_queue or len(parts) != 2:
            raise AuthConfigError(f"{where}: subject {entry!r} is not a valid subject")
        subject, queue = parts
        if not is_valid_subject(subject):
            raise AuthConfigError(f"{where}: subject {subject!r} is not a valid subject")
        if not is_valid_subject(queue):
            raise AuthConfigError(f"{where}: queue {queue!r} is not a valid queue")
        return cls(subject, queue)


def _matches(pattern: str, subject: str) -> bool:
    # nats-server's sublist never matches a subject with an empty token, whatever the pattern.
    if not subject or "" in subject.split("."):
        return False
    return subject_matches(pattern, subject)


def _has_wildcard(subject: str) -> bool:
    return any(token in ("*", ">") for token in subject.split("."))


def _is_subset(subject: str, pattern: str) -> bool:
    """True when every subject matched by `subject` is also matched by `pattern`."""
    tokens = subject.split(".")
    pattern_tokens = pattern.split(".")
    for index, pattern_token in enumerate(pattern_tokens):
        if index >= len(tokens) or not pattern_token:
            return False
        if pattern_token == ">":
            return True
        token = tokens[index]
        if not token or token == ">":
            return False
        if token == "*":
            if pattern_token != "*":
                return False
            continue
        if pattern_token != "*" and token != pattern_token:
            return False
    return len(tokens) == len(pattern_tokens)


def _queue_matches(queue: str, rules: list[SubjectRule]) -> bool:
    # Queue names in entries may hold wildcards: `"foo v1.*"` admits group `v1.blue`.
    for rule in rules:
        group = rule.queue or ""
        if queue == group or (_has_wildcard(group) and _is_subset(queue, group)):
            return True
    return False


class Permissions:
    """Compiled permissions of one user; immutable apart from its result caches."""

    def __init__(
        self,
        *,
        publish_allow: Iterable[str] | None = None,
        publish_deny: Iterable[str] = (),
        subscribe_allow: Iterable[str] | None = None,
        subscribe_deny: Iterable[str] = (),
        allow_responses: ResponsePermission | None = None,
    ) -> None:
        """Allow lists of None mean "no allow list". An empty publish allow list denies every publish
        (that is what `allow_responses` without a publish list means); an empty subscribe allow list is
        no restriction, as in nats-server."""
        self.publish_allow: tuple[str, ...] | None = (
            None
            if publish_allow is None
            else tuple(SubjectRule.parse(s, False, "publish allow").subject for s in publish_allow)
        )
        self.publish_deny = tuple(SubjectRule.parse(s, False, "publish deny").subject for s in publish_deny)
        sub_allow = tuple(SubjectRule.parse(s, True, "subscribe allow") for s in subscribe_allow or ())
        self.subscribe_allow: tuple[SubjectRule, ...] | None = sub_allow or None
        self.subscribe_deny = tuple(SubjectRule.parse(s, True, "subscribe deny") for s in subscribe_deny)
        self.allow_responses = allow_responses
        self._publish_unrestricted = self.publish_allow is None and not self.publish_deny
        self._publish_cache: dict[str, bool] = {}
        self._delivery_cache: dict[tuple[str, str | None], bool] = {}

    @classmethod
    def from_config(cls, spec: dict) -> Permissions:
        """Build from a parsed `permissions { ... }` block (the shapes of PROTOCOL-SPEC §13.4)."""
        if not isinstance(spec, dict):
            raise AuthConfigError(f"permissions: expected a map, got {spec!r}")
        publish: tuple[list[str] | None, list[str]] = (None, [])
        subscribe: tuple[list[str] | None, list[str]] = (None, [])
        responses: ResponsePermission | None = None
        for key, value in spec.items():
            name = str(key).lower()
            if name in ("pub", "publish", "import"):
                publish = _allow_and_deny(value, "permissions.publish")
            elif name in ("sub", "subscribe", "export"):
                subscribe = _allow_and_deny(value, "permissions.subscribe")
            elif name in ("allow_responses", "publish_allow_responses"):
                responses = _response_permission(value)
            else:
                raise AuthConfigError(f"permissions: unknown field {key!r}")
        publish_allow, publish_deny = publish
        if responses is not None and publish_allow is None:
            # Answering requests is the only publishing such a user may do unless a list says more.
            publish_allow = []
        return cls(
            publish_allow=publish_allow,
            publish_deny=publish_deny,
            subscribe_allow=subscribe[0],
            subscribe_deny=subscribe[1],
            allow_responses=responses,
        )

    def can_publish(self, subject: str) -> bool:
        """Static publish check (replies granted by `allow_responses` are tracked per connection)."""
        if self._publish_unrestricted:
            return True
        cached = self._publish_cache.get(subject)
        if cached is not None:
            return cached
        allowed = self._publish_allowed(subject)
        if len(self._publish_cache) >= _CACHE_LIMIT:
            self._publish_cache.clear()
        self._publish_cache[subject] = allowed
        return allowed

    def _publish_allowed(self, subject: str) -> bool:
        if self.publish_allow is not None and not any(_matches(p, subject) for p in self.publish_allow):
            return False
        return not any(_matches(p, subject) for p in self.publish_deny)

    def can_subscribe(self, subject: str, queue: str | None = None) -> bool:
        """The SUB check: `subject` is taken literally, so its wildcard tokens only match wildcards."""
        if queue == RESERVED_QUEUE_GROUP:
            return False
        allowed = True
        if self.subscribe_allow is not None:
            allowed = any(r.queue is None and _matches(r.subject, subject) for r in self.subscribe_allow)
            queue_rules = [r for r in self.subscribe_allow if r.queue and _matches(r.subject, subject)]
            # Queue entries on a matching subject decide alone for queue subscriptions.
            if queue and queue_rules:
                allowed = _queue_matches(queue, queue_rules)
        if allowed and self.subscribe_deny:
            allowed = not any(r.queue is None and _matches(r.subject, subject) for r in self.subscribe_deny)
            queue_rules = [r for r in self.subscribe_deny if r.queue and _matches(r.subject, subject)]
            if allowed and queue and queue_rules:
                allowed = not _queue_matches(queue, queue_rules)
        return allowed

    def may_deliver(self, subject: str, queue: str | None = None) -> bool:
        """Delivery filter for messages reaching a (wider) subscription: False if subscribe-denied.

        `queue` is the queue group of the receiving subscription, if any.
        """
        if not self.subscribe_deny:
            return True
        key = (subject, queue)
        cached = self._delivery_cache.get(key)
        if cached is not None:
            return cached
        denied = any(r.queue is None and _matches(r.subject, subject) for r in self.subscribe_deny)
        if not denied and queue:
            queue_rules = [r for r in self.subscribe_deny if r.queue and _matches(r.subject, subject)]
            denied = bool(queue_rules) and _queue_matches(queue, queue_rules)
        if len(self._delivery_cache) >= _CACHE_LIMIT:
            self._delivery_cache.clear()
        self._delivery_cache[key] = not denied
        return not denied

    def __repr__(self) -> str:
        return (
            f"Permissions(publish_allow={self.publish_allow!r}, publish_deny={self.publish_deny!r}, "
            f"subscribe_allow={self.subscribe_allow!r}, subscribe_deny={self.subscribe_deny!r}, "
            f"allow_responses={self.allow_responses!r})"
        )


def _subject_list(value: object, where: str) -> list[str] | None:
    """A string or list of strings; an empty list counts as absent, as nats-server reads it."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        for entry in value:
            if not isinstance(entry, str):
                raise AuthConfigError(f"{where}: subject in permissions array is not a string: {entry!r}")
        return list(value) or None
    raise AuthConfigError(f"{where}: expected a subject or an array of subjects, got {value!r}")


def _allow_and_deny(value: object, where: str) -> tuple[list[str] | None, list[str]]:
    """`"a.>"`, `["a", "b"]` (both an allow list) or `{allow: ..., deny: ...}`."""
    if not isinstance(value, dict):
        return _subject_list(value, where), []
    allow: list[str] | None = None
    deny: list[str] = []
    for key, entries in value.items():
        name = str(key).lower()
        if name == "allow":
            allow = _subject_list(entries, f"{where}.allow")
        elif name == "deny":
            deny = _subject_list(entries, f"{where}.deny") or []
        else:
            raise AuthConfigError(f"{where}: unknown field {key!r}, only 'allow' or 'deny' are permitted")
    return allow, deny


def _response_permission(value: object) -> ResponsePermission | None:
    """`allow_responses: true|false` or `{max: N, expires: "2m"}`; zero values mean the defaults."""
    where = "permissions.allow_responses"
    if isinstance(value, bool):
        return ResponsePermission() if value else None
    if not isinstance(value, dict):
        raise AuthConfigError(f"{where}: expected a boolean or a map, got {value!r}")
    max_msgs = DEFAULT_RESPONSE_MAX_MSGS
    expires = DEFAULT_RESPONSE_EXPIRES
    for key, setting in value.items():
        name = str(key).lower()
        if name in ("max", "max_msgs", "max_messages", "max_responses"):
            if isinstance(setting, bool) or not isinstance(setting, int):
                raise AuthConfigError(f"{where}: {key} must be an integer, got {setting!r}")
            max_msgs = setting or DEFAULT_RESPONSE_MAX_MSGS
        elif name in ("expires", "expiration", "ttl"):
            if not isinstance(setting, str):
                raise AuthConfigError(f"{where}: {key} must be a duration string, got {setting!r}")
            expires = seconds_from_config(setting, f"{where}.{key}") or DEFAULT_RESPONSE_EXPIRES
        else:
            raise AuthConfigError(f"{where}: unknown field {key!r}")
    return ResponsePermission(max_msgs, expires)
