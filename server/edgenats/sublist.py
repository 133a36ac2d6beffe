"""The subscription trie: subjects split into tokens, `*` and `>` nodes, plain and queue subscribers.

`match(subject)` answers which subscriptions want a published subject. Answers are cached per
subject (bytes, as read from the wire), in the form the trie's owner derives from them (a delivery
plan); a change to the trie drops only the cached answers it can affect, so a steady publish stream
never re-walks the trie. Subjects published once (the reply subjects of requests, `match_once`)
differ from each other in their last token: per head (the subject without its last token) the trie
keeps what the head matches whatever token follows, until the trie changes, and what its owner may
derive once for all those subjects (`derive_shared`: the delivery plans of a client's reply inbox).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from edgenats.subjects import subject_matches

_CACHE_LIMIT = 1024
# A full cache keeps its newest answers, this many of them (nats-server sweeps to 256 at random).
_CACHE_SWEEP = 256


@dataclass(eq=False, slots=True)
class Subscription:
    """One subscription of one subscriber target (a client connection, a link or an internal one)."""

    target: Any
    subject: str
    queue: str | None
    sid: bytes
    max_msgs: int = 0
    delivered: int = 0
    # Queue members a leaf link stands for (its LS+ weight); 1 for everything else.
    weight: int = 1


@dataclass(slots=True)
class SubscriptionMatch:
    """The answer for one subject: plain subscribers and queue groups (members of one group each)."""

    plain: tuple[Subscription, ...]
    queues: tuple[tuple[Subscription, ...], ...]


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    star: _Node | None = None
    rest: _Node | None = None
    plain: dict[Subscription, None] = field(default_factory=dict)
    queues: dict[str, dict[Subscription, None]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.children or self.star or self.rest or self.plain or self.queues)


def _has_wildcard(subject: str) -> bool:
    return any(token in ("*", ">") for token in subject.split("."))


def _as_is(subject: bytes, match: SubscriptionMatch) -> SubscriptionMatch:
    return match


def _forget(cached: Any) -> None:
    """What happens to a cached answer that is dropped: nothing, unless the owner says otherwise."""


def _per_subject(match: SubscriptionMatch) -> None:
    """No answer shared by the subjects under a head: each once-published subject is derived on its own."""


class SubscriptionTrie:
    def __init__(
        self,
        derive: Callable[[bytes, SubscriptionMatch], Any] = _as_is,
        retire: Callable[[Any], None] = _forget,
        derive_shared: Callable[[SubscriptionMatch], Any] = _per_subject,
    ) -> None:
        """`derive(subject, match)` turns an answer into what `match()` returns and the cache keeps;
        `retire(cached)` is called for every cached answer before it is dropped. `derive_shared(match)`,
        for what a head matches whatever last token follows, may give one answer for all those
        subjects (`match_once` returns it for each of them), or None."""
        self._root = _Node()
        self._derive = derive
        self._retire = retire
        self._derive_shared = derive_shared
        self._cache: dict[bytes, Any] = {}
        # Per head of a once-published subject: the nodes its last token is looked up in, what
        # matches any last token, and its shared derive (or None); emptied by every insert and remove.
        self._heads: dict[bytes, tuple[list[_Node], SubscriptionMatch, Any]] = {}
        self.count = 0
        self.inserts = 0
        self.removes = 0
        self.matches = 0
        self.cache_hits = 0
        # Called as observer(subscription, delta_weight) on insert/remove; set only while leaf links exist.
        self.observer: Any = None
        # Interest watches: literal subject -> callbacks called after a subscription on exactly that
        # subject comes or goes (JetStream push consumers follow their deliver subject's interest).
        self.watches: dict[str, list[Callable[[], None]]] = {}

    def insert(self, subscription: Subscription) -> None:
        node = self._root
        for token in subscription.subject.split("."):
            node = self._child(node, token)
        if subscription.queue is None:
            node.plain[subscription] = None
        else:
            node.queues.setdefault(subscription.queue, {})[subscription] = None
        self.count += 1
        self.inserts += 1
        self._invalidate(subscription.subject)
        if self.observer is not None:
            self.observer(subscription, subscription.weight)
        if self.watches:
            self._tell_watches(subscription.subject)

    def remove(self, subscription: Subscription) -> bool:
        path: list[tuple[_Node, str]] = []
        node = self._root
        for token in subscription.subject.split("."):
            nxt = node.rest if token == ">" else node.star if token == "*" else node.children.get(token)
            if nxt is None:
                return False
            path.append((node, token))
            node = nxt
        if subscription.queue is None:
            if node.plain.pop(subscription, False) is False:
                return False
        else:
            members = node.queues.get(subscription.queue)
            if members is None or members.pop(subscription, False) is False:
                return False
            if not members:
                del node.queues[subscription.queue]
        self._prune(path, node)
        self.count -= 1
        self.removes += 1
        self._invalidate(subscription.subject)
        if self.observer is not None:
            self.observer(subscription, -subscription.weight)
        if self.watches:
            self._tell_watches(subscription.subject)
        return True

    def _tell_watches(self, subject: str) -> None:
        for callback in list(self.watches.get(subject, ())):
            callback()

    def count_exact(self, subject: str, queue: str | None) -> int:
        """How many subscriptions `exact(subject, queue)` gives."""
        return len(self.exact(subject, queue))

    def exact(self, subject: str, queue: str | None) -> Collection[Subscription]:
        """Subscriptions on exactly `subject` (no wildcard match): plain ones when `queue` is None,
        else the members of that queue group."""
        node: _Node | None = self._root
        for token in subject.split("."):
            node = node.children.get(token) if token not in ("*", ">") else None
            if node is None:
                return ()
        return node.plain.keys() if queue is None else node.queues.get(queue, ())

    def match(self, subject: bytes) -> Any:
        """Who wants `subject` (a literal subject as received, latin-1 bytes), as derived."""
        self.matches += 1
        cached = self._cache.get(subject)
        if cached is not None:
            self.cache_hits += 1
            return cached
        return self._derive_cached(subject)

    def _derive_cached(self, subject: bytes) -> Any:
        result = self._derive(subject, self._walk(subject))
        if len(self._cache) >= _CACHE_LIMIT:
            self._sweep_cache()
        self._cache[subject] = result
        return result

    def match_once(self, subject: bytes) -> Any:
        """`match` for a subject published once (the reply subject of one request): the cached answer
        if there is one, else one derived for this message and not cached, so that a stream of one-off
        subjects neither churns the cache nor drops the answers of the subjects published all the time
        (or the one answer shared by the subjects under its head, see `derive_shared`). A subject the trie
        knows by name (a requester's fixed inbox) is no one-off: its answer is derived and cached as
        `match` does. The caller settles what it is given as it would retire a cached
        answer."""
        self.matches += 1
        cached = self._cache.get(subject)
        if cached is not None:
            self.cache_hits += 1
            return cached
        head, dot, last = subject.rpartition(b".")
        if not dot or not last:
            return self._derive(subject, self._walk(subject))
        known = self._heads.get(head)
        if known is None:
            known = self._heads[head] = self._walk_head(head)
        nodes, any_last, shared = known
        token = last.decode("latin-1")
        for node in nodes:
            if token in node.children:
                return self._derive_cached(subject)
        return shared if shared is not None else self._derive(subject, any_last)

    def _walk_head(self, head: bytes) -> tuple[list[_Node], SubscriptionMatch, Any]:
        """For subjects `<head>.<token>`: the nodes a literal last token is a child of, what matches
        when it is none of their children (`>` and `*` ones), and its shared derive."""
        plain: list[Subscription] = []
        queues: dict[str, list[Subscription]] = {}
        tokens = head.decode("latin-1").split(".")
        nodes = [self._root] if "" not in tokens else []
        for token in tokens:
            deeper = []
            for node in nodes:
                if node.rest is not None:
                    self._add_node(node.rest, plain, queues)
                if node.star is not None:
                    deeper.append(node.star)
                child = node.children.get(token)
                if child is not None:
                    deeper.append(child)
            nodes = deeper
        for node in nodes:
            for last in (node.rest, node.star):
                if last is not None:
                    self._add_node(last, plain, queues)
        if len(self._heads) >= _CACHE_LIMIT:
            self._heads.clear()
        any_last = SubscriptionMatch(tuple(plain), tuple(map(tuple, queues.values())) if queues else ())
        return nodes, any_last, self._derive_shared(any_last)

    def _walk(self, subject: bytes) -> SubscriptionMatch:
        plain: list[Subscription] = []
        queues: dict[str, list[Subscription]] = {}
        tokens = subject.decode("latin-1").split(".")
        # A subject with an empty token is matched by nothing, not even `>` (as in nats-server).
        if "" not in tokens:
            self._collect(self._root, tokens, 0, plain, queues)
        return SubscriptionMatch(tuple(plain), tuple(map(tuple, queues.values())) if queues else ())

    def cache_size(self) -> int:
        return len(self._cache)

    def fanout_stats(self) -> tuple[int, float]:
        """Largest and mean number of receivers (plain subscribers + queue groups) over cached answers."""
        fanouts = [len(match.plain) + len(match.queues) for match in self._cache.values()]
        return (max(fanouts), sum(fanouts) / len(fanouts)) if fanouts else (0, 0.0)

    def subscriptions(self) -> list[Subscription]:
        found: list[Subscription] = []
        stack = [self._root]
        while stack:
            node = stack.pop()
            found.extend(node.plain)
            for members in node.queues.values():
                found.extend(members)
            stack.extend(node.children.values())
            stack.extend(child for child in (node.star, node.rest) if child is not None)
        return found

    def cached(self) -> list[Any]:
        return list(self._cache.values())

    def refresh(self, subscription: Subscription) -> None:
        """Drop the cached answers `subscription` takes part in (its settings changed)."""
        self._invalidate(subscription.subject)

    def clear_cache(self) -> None:
        self._heads.clear()
        for cached in self._cache.values():
            self._retire(cached)
        self._cache.clear()

    def _sweep_cache(self) -> None:
        """Drop the oldest cached answers, so a stream of new subjects does not empty the whole cache."""
        cache = self._cache
        for key in list(islice(cache, len(cache) - _CACHE_SWEEP)):
            self._retire(cache.pop(key))

    @staticmethod
    def _child(node: _Node, token: str) -> _Node:
        if token == ">":
            if node.rest is None:
                node.rest = _Node()
            return node.rest
        if token == "*":
            if node.star is None:
                node.star = _Node()
            return node.star
        child = node.children.get(token)
        if child is None:
            child = node.children[token] = _Node()
        return child

    @staticmethod
    def _prune(path: list[tuple[_Node, str]], node: _Node) -> None:
        """Drop nodes left empty by a removal, so short-lived subjects do not accumulate."""
        for parent, token in reversed(path):
            if not node.is_empty():
                return
            if token == ">":
                parent.rest = None
            elif token == "*":
                parent.star = None
            else:
                del parent.children[token]
            node = parent

    def _collect(
        self,
        node: _Node,
        tokens: list[str],
        index: int,
        plain: list[Subscription],
        queues: dict[str, list[Subscription]],
    ) -> None:
        if index == len(tokens):
            self._add_node(node, plain, queues)
            return
        if node.rest is not None:
            self._add_node(node.rest, plain, queues)
        if node.star is not None:
            self._collect(node.star, tokens, index + 1, plain, queues)
        child = node.children.get(tokens[index])
        if child is not None:
            self._collect(child, tokens, index + 1, plain, queues)

    @staticmethod
    def _add_node(node: _Node, plain: list[Subscription], queues: dict[str, list[Subscription]]) -> None:
        plain.extend(node.plain)
        for name, members in node.queues.items():
            queues.setdefault(name, []).extend(members)

    def _invalidate(self, subject: str) -> None:
        self._heads.clear()
        if not _has_wildcard(subject):
            cached = self._cache.pop(subject.encode("latin-1"), None)
            if cached is not None:
                self._retire(cached)
            return
        stale = [key for key in self._cache if subject_matches(subject, key.decode("latin-1"))]
        for key in stale:
            self._retire(self._cache.pop(key))
