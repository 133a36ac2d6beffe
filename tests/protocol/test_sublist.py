"""The subscription trie (edgenats.sublist) on its own, in the manner of nats-server's sublist_test.go:
literal and wildcard matching, queue groups, removal and pruning, the match cache and its limit,
the derive/retire hooks and the interest observer.
"""

from __future__ import annotations

import pytest
from edgenats.sublist import _CACHE_LIMIT, _CACHE_SWEEP, Subscription, SubscriptionMatch, SubscriptionTrie


def _sub(subject: str, queue: str | None = None, target: str = "client", weight: int = 1) -> Subscription:
    return Subscription(target, subject, queue, subject.encode(), weight=weight)


def _trie_with(*subscriptions: Subscription) -> SubscriptionTrie:
    trie = SubscriptionTrie()
    for subscription in subscriptions:
        trie.insert(subscription)
    return trie


def _plain_subjects(match: SubscriptionMatch) -> list[str]:
    return sorted(subscription.subject for subscription in match.plain)


class _Recorder:
    """derive/retire hooks that record their calls; derived answers are fresh objects."""

    def __init__(self) -> None:
        self.derived: list[bytes] = []
        self.retired: list[tuple[bytes, SubscriptionMatch]] = []

    def derive(self, subject: bytes, match: SubscriptionMatch) -> tuple[bytes, SubscriptionMatch]:
        self.derived.append(subject)
        return (subject, match)

    def retire(self, cached: tuple[bytes, SubscriptionMatch]) -> None:
        self.retired.append(cached)

    def retired_subjects(self) -> list[bytes]:
        return sorted(subject for subject, _ in self.retired)


# -- matching ----------------------------------------------------------------------------------


def test_literal_matches_only_the_same_subject():
    trie = _trie_with(_sub("foo.bar"))
    assert _plain_subjects(trie.match(b"foo.bar")) == ["foo.bar"]
    for other in (b"foo", b"foo.baz", b"foo.bar.baz", b"bar.foo", b"Foo.bar"):
        assert trie.match(other).plain == ()


@pytest.mark.parametrize(
    ("pattern", "matched", "unmatched"),
    [
        ("*", [b"foo", b"*", b">"], [b"foo.bar"]),
        ("foo.*", [b"foo.bar", b"foo.*"], [b"foo", b"foo.bar.baz", b"bar.foo"]),
        ("*.bar", [b"foo.bar", b"x.bar"], [b"bar", b"foo.bar.baz"]),
        ("foo.*.baz", [b"foo.x.baz"], [b"foo.baz", b"foo.x.y.baz", b"foo.x.bar"]),
        ("*.*", [b"a.b"], [b"a", b"a.b.c"]),
        (">", [b"foo", b"foo.bar", b"a.b.c.d"], []),
        ("foo.>", [b"foo.bar", b"foo.bar.baz"], [b"foo", b"bar.foo"]),
        ("*.bar.>", [b"foo.bar.baz", b"x.bar.y.z"], [b"foo.bar", b"foo.baz.bar"]),
        ("a*.>", [b"a*.b"], [b"ab.c", b"a.b"]),
    ],
)
def test_wildcards_match_whole_tokens(pattern, matched, unmatched):
    trie = _trie_with(_sub(pattern))
    for subject in matched:
        assert _plain_subjects(trie.match(subject)) == [pattern], subject
    for subject in unmatched:
        assert trie.match(subject).plain == (), subject


def test_every_matching_subscription_is_returned_once():
    subscriptions = [_sub(pattern) for pattern in ("foo.bar", "foo.*", "*.bar", "foo.>", ">", "*.*", "foo.baz")]
    trie = _trie_with(*subscriptions)
    match = trie.match(b"foo.bar")
    assert sorted(map(id, match.plain)) == sorted(map(id, subscriptions[:6]))


def test_two_subscriptions_on_one_subject_are_both_returned():
    first, second = _sub("foo", target="a"), _sub("foo", target="b")
    trie = _trie_with(first, second)
    assert set(map(id, trie.match(b"foo").plain)) == {id(first), id(second)}


@pytest.mark.parametrize("subject", [b"", b".", b"foo..bar", b".foo", b"foo.", b"..", b"foo.bar."])
def test_subject_with_an_empty_token_is_matched_by_nothing(subject):
    trie = _trie_with(_sub(">"), _sub("*"), _sub("*.*"), _sub("foo.>"), _sub("*.>", "q"), _sub("foo.*.bar"))
    match = trie.match(subject)
    assert match.plain == () and match.queues == ()


# -- queue groups ------------------------------------------------------------------------------


def test_queue_members_are_kept_apart_from_plain_subscribers():
    plain, member = _sub("foo"), _sub("foo", "workers")
    match = _trie_with(plain, member).match(b"foo")
    assert match.plain == (plain,)
    assert match.queues == ((member,),)


def test_each_queue_group_is_one_tuple_of_its_members():
    a1, a2, b1 = _sub("foo", "a", "c1"), _sub("foo", "a", "c2"), _sub("foo", "b", "c3")
    match = _trie_with(a1, a2, b1).match(b"foo")
    assert sorted(sorted(map(id, group)) for group in match.queues) == sorted(
        [sorted([id(a1), id(a2)]), [id(b1)]]
    )


def test_one_queue_name_on_several_matching_patterns_is_one_group():
    """As nats-server's findQSlot: members of a queue name meet in one group whatever pattern they used."""
    literal, star, rest = _sub("foo.bar", "q"), _sub("foo.*", "q"), _sub(">", "q")
    match = _trie_with(literal, star, rest).match(b"foo.bar")
    assert len(match.queues) == 1
    assert set(map(id, match.queues[0])) == {id(literal), id(star), id(rest)}


# -- removal -----------------------------------------------------------------------------------


def test_removed_subscription_no_longer_matches():
    plain, member = _sub("foo.*"), _sub("foo.*", "q")
    trie = _trie_with(plain, member)
    assert trie.remove(plain) is True
    assert trie.remove(member) is True
    match = trie.match(b"foo.bar")
    assert match.plain == () and match.queues == ()
    assert trie.count == 0


@pytest.mark.parametrize(
    "stranger",
    [_sub("foo"), _sub("foo", "q"), _sub("foo", "other"), _sub("never.inserted"), _sub("foo.*"), _sub(">", "q")],
)
def test_removing_a_subscription_never_inserted_changes_nothing(stranger):
    kept = [_sub("foo"), _sub("foo", "q")]
    trie = _trie_with(*kept)
    calls = []
    trie.observer = lambda subscription, delta: calls.append(delta)
    assert trie.remove(stranger) is False
    assert trie.count == 2 and trie.removes == 0 and calls == []
    assert set(map(id, trie.subscriptions())) == set(map(id, kept))


def test_second_removal_of_a_subscription_is_refused():
    plain, member = _sub("foo.>"), _sub("foo.>", "q")
    trie = _trie_with(plain, member)
    assert trie.remove(plain) and trie.remove(member)
    assert trie.remove(plain) is False
    assert trie.remove(member) is False
    assert trie.count == 0 and trie.removes == 2


def test_short_lived_subjects_leave_no_nodes_behind():
    trie = SubscriptionTrie()
    for number in range(200):
        subscriptions = [
            _sub(f"_INBOX.{number}.reply"), _sub(f"tmp.{number}.*"), _sub(f"tmp.{number}.>", "q"), _sub(f"{number}")
        ]
        for subscription in subscriptions:
            trie.insert(subscription)
        for subscription in subscriptions:
            assert trie.remove(subscription)
    # The trie's root is the only place left nodes could accumulate.
    assert trie._root.is_empty()
    assert trie.count == 0 and trie.subscriptions() == []


def test_pruning_keeps_nodes_other_subscriptions_use():
    short, long, star = _sub("foo.bar"), _sub("foo.bar.baz"), _sub("foo.*")
    trie = _trie_with(short, long, star)
    assert trie.remove(short)
    assert trie.match(b"foo.bar.baz").plain == (long,)
    assert trie.match(b"foo.bar").plain == (star,)
    assert trie.remove(long)
    assert trie.match(b"foo.bar").plain == (star,)
    assert trie.subscriptions() == [star]


# -- the match cache ---------------------------------------------------------------------------


def test_repeated_match_is_a_cache_hit_with_the_same_answer():
    hooks = _Recorder()
    trie = SubscriptionTrie(hooks.derive, hooks.retire)
    trie.insert(_sub("foo.*"))
    first = trie.match(b"foo.bar")
    assert trie.match(b"foo.bar") is first
    assert hooks.derived == [b"foo.bar"]
    assert (trie.matches, trie.cache_hits, trie.cache_size()) == (2, 1, 1)


def test_derive_gets_the_subject_and_the_match():
    seen = []
    subscription = _sub("foo")
    trie = SubscriptionTrie(lambda subject, match: seen.append((subject, match)) or "plan")
    trie.insert(subscription)
    assert trie.match(b"foo") == "plan"
    assert seen == [(b"foo", SubscriptionMatch((subscription,), ()))]
    assert trie.cached() == ["plan"]


def _cached_trie(hooks: _Recorder, *subjects: bytes) -> SubscriptionTrie:
    trie = SubscriptionTrie(hooks.derive, hooks.retire)
    for subject in subjects:
        trie.match(subject)
    return trie


_SUBJECTS = (b"a.b", b"a.c", b"a.b.c", b"x.y", b"b")


@pytest.mark.parametrize(
    ("subscription", "affected"),
    [
        (_sub("a.b"), [b"a.b"]),
        (_sub("a.b", "q"), [b"a.b"]),
        (_sub("a.*"), [b"a.b", b"a.c"]),
        (_sub("a.>"), [b"a.b", b"a.b.c", b"a.c"]),
        (_sub("*"), [b"b"]),
        (_sub(">", "q"), sorted(_SUBJECTS)),
        (_sub("not.cached"), []),
    ],
)
def test_insert_and_remove_drop_exactly_the_answers_they_affect(subscription, affected):
    hooks = _Recorder()
    trie = _cached_trie(hooks, *_SUBJECTS)
    trie.insert(subscription)
    assert hooks.retired_subjects() == affected
    assert sorted(subject for subject, _ in trie.cached()) == sorted(set(_SUBJECTS) - set(affected))
    for subject in _SUBJECTS:
        trie.match(subject)
    hooks.retired.clear()
    trie.remove(subscription)
    assert hooks.retired_subjects() == affected
    # The answers computed after a change are the ones cached next.
    for subject in affected:
        _, match = trie.match(subject)
        assert match.plain == () and match.queues == ()


def test_answer_after_insert_includes_the_new_subscription():
    trie = _trie_with(_sub("foo.*"))
    assert len(trie.match(b"foo.bar").plain) == 1
    added = _sub("foo.bar")
    trie.insert(added)
    assert added in trie.match(b"foo.bar").plain
    assert len(trie.match(b"foo.bar").plain) == 2


def test_failed_removal_keeps_the_cache():
    hooks = _Recorder()
    trie = _cached_trie(hooks, *_SUBJECTS)
    assert trie.remove(_sub("a.*")) is False
    assert hooks.retired == [] and trie.cache_size() == len(_SUBJECTS)


def test_refresh_drops_the_answers_a_subscription_takes_part_in():
    hooks = _Recorder()
    subscription = _sub("a.*", "q")
    trie = SubscriptionTrie(hooks.derive, hooks.retire)
    trie.insert(subscription)
    for subject in _SUBJECTS:
        trie.match(subject)
    trie.refresh(subscription)
    assert hooks.retired_subjects() == [b"a.b", b"a.c"]
    assert trie.count == 1


def test_clear_cache_retires_every_answer():
    hooks = _Recorder()
    trie = _cached_trie(hooks, *_SUBJECTS)
    trie.clear_cache()
    assert hooks.retired_subjects() == sorted(_SUBJECTS)
    assert trie.cache_size() == 0 and trie.cached() == []


def test_full_cache_keeps_its_newest_answers():
    hooks = _Recorder()
    subjects = [b"s.%d" % number for number in range(_CACHE_LIMIT)]
    trie = _cached_trie(hooks, *subjects)
    assert trie.cache_size() == _CACHE_LIMIT and hooks.retired == []
    trie.match(b"one.more")
    kept = subjects[-_CACHE_SWEEP:] + [b"one.more"]
    assert sorted(subject for subject, _ in trie.cached()) == sorted(kept)
    assert hooks.retired_subjects() == sorted(subjects[:-_CACHE_SWEEP])
    hits = trie.cache_hits
    for subject in kept:
        trie.match(subject)
    assert trie.cache_hits == hits + len(kept)


def test_cache_never_grows_past_its_limit():
    hooks = _Recorder()
    trie = SubscriptionTrie(hooks.derive, hooks.retire)
    for number in range(3 * _CACHE_LIMIT):
        trie.match(b"n.%d" % number)
        assert trie.cache_size() <= _CACHE_LIMIT
    # Every answer derived is either still cached or was retired, exactly once.
    retired = [subject for subject, _ in hooks.retired]
    assert len(retired) == len(set(retired))
    assert sorted(retired + [subject for subject, _ in trie.cached()]) == sorted(hooks.derived)


# -- counters and the interest observer --------------------------------------------------------


def test_observer_sees_each_change_with_its_weight():
    calls = []
    trie = SubscriptionTrie()
    trie.observer = lambda subscription, delta: calls.append((subscription.subject, subscription.queue, delta))
    plain, member, leaf = _sub("foo"), _sub("foo", "q"), _sub("bar.>", "q", target="link", weight=5)
    for subscription in (plain, member, leaf):
        trie.insert(subscription)
    trie.remove(leaf)
    trie.remove(plain)
    trie.remove(plain)
    assert calls == [("foo", None, 1), ("foo", "q", 1), ("bar.>", "q", 5), ("bar.>", "q", -5), ("foo", None, -1)]


def test_counters_and_subscription_listing():
    subscriptions = [_sub("a"), _sub("a.*", "q"), _sub("a.>"), _sub("b", "q")]
    trie = _trie_with(*subscriptions)
    trie.remove(subscriptions[0])
    assert (trie.count, trie.inserts, trie.removes) == (3, 4, 1)
    assert set(map(id, trie.subscriptions())) == set(map(id, subscriptions[1:]))


def _sorted_match(match: SubscriptionMatch) -> tuple[list[str], list[list[str]]]:
    return (sorted(f"{s.subject}|{s.sid!r}" for s in match.plain),
            sorted(sorted(f"{s.subject}|{s.queue}" for s in group) for group in match.queues))


def test_once_subjects_match_as_a_fresh_trie_matches_them_through_changes():
    """match_once answers from what it keeps per subject head; after every insert and removal its
    answers for many reply-like subjects equal those of a trie built from scratch."""
    import random

    rng = random.Random(7)
    tokens = ["_INBOX", "a", "b", "*", ">", "1", "2"]
    subscriptions = []
    trie = SubscriptionTrie()
    subjects = [b"_INBOX.a.1", b"_INBOX.a.2", b"_INBOX.b.1", b"_INBOX.a.99", b"a.b", b"a.1.2", b"_INBOX..1",
                b"_INBOX.a.", b"b", b"a.b.1.2", b"_INBOX.a.b"]
    for step in range(300):
        if subscriptions and rng.random() < 0.4:
            trie.remove(subscriptions.pop(rng.randrange(len(subscriptions))))
        else:
            subject = ".".join(rng.choice(tokens[:-1]) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.2:
                subject += ".>"
            queue = rng.choice([None, None, "q"])
            subscription = Subscription("client", subject, queue, str(step).encode())
            subscriptions.append(subscription)
            trie.insert(subscription)
        fresh = _trie_with(*subscriptions)
        for subject in rng.sample(subjects, 4):
            assert _sorted_match(trie.match_once(subject)) == _sorted_match(fresh.match(subject)), (step, subject)
