"""Publish/subscribe permission rules, as nats-server applies them (PROTOCOL-SPEC §13.4)."""

import pytest
from edgenats.auth import RESERVED_QUEUE_GROUP, Permissions


def publish_rules(allow=None, deny=()) -> Permissions:
    return Permissions(publish_allow=allow, publish_deny=deny)


def subscribe_rules(allow=None, deny=()) -> Permissions:
    return Permissions(subscribe_allow=allow, subscribe_deny=deny)


class TestPublish:
    def test_no_lists_allow_everything(self):
        rules = Permissions()
        assert rules.can_publish("anything.at.all")

    @pytest.mark.parametrize(
        "subject, expected",
        [("req.a", True), ("req.a.b", True), ("req", False), ("other", False), ("reqx.a", False)],
    )
    def test_allow_list_admits_only_matching_subjects(self, subject, expected):
        assert publish_rules(allow=["req.>"]).can_publish(subject) is expected

    def test_deny_wins_over_allow(self):
        rules = publish_rules(allow=["req.>"], deny=["req.secret"])
        assert rules.can_publish("req.ok")
        assert not rules.can_publish("req.secret")

    def test_deny_without_allow_list_blocks_only_denied_subjects(self):
        rules = publish_rules(deny=["admin.>", "*.private"])
        assert rules.can_publish("user.public")
        assert not rules.can_publish("admin.reboot")
        assert not rules.can_publish("user.private")

    def test_empty_allow_list_denies_every_publish(self):
        assert not publish_rules(allow=[]).can_publish("foo")

    def test_wildcard_tokens_in_a_published_subject_are_literals(self):
        rules = publish_rules(allow=["foo.*"], deny=["foo.*.no"])
        assert rules.can_publish("foo.*")
        assert rules.can_publish("foo.>")
        assert not rules.can_publish("foo.x.no")
        assert not rules.can_publish("foo.*.no")
        assert not publish_rules(allow=["foo.bar"]).can_publish("foo.*")

    def test_subject_with_an_empty_token_never_matches_an_allow_entry(self):
        rules = publish_rules(allow=["foo.>"])
        assert not rules.can_publish("foo..bar")
        assert not rules.can_publish("")
        assert publish_rules(deny=[">"]).can_publish("foo..bar")

    def test_cached_answers_stay_right_beyond_the_cache_bound(self):
        rules = publish_rules(allow=["even.>"])
        for round_number in range(2):
            for number in range(3000):
                expected = number % 2 == 0
                subject = f"{'even' if expected else 'odd'}.{number}"
                assert rules.can_publish(subject) is expected, (round_number, subject)


class TestSubscribe:
    def test_no_lists_allow_everything(self):
        assert Permissions().can_subscribe(">")
        assert Permissions().can_subscribe("foo", "q")

    @pytest.mark.parametrize(
        "subject, expected",
        [
            ("foo.x", True),
            ("foo.*", True),
            ("foo.>", True),  # the literal token ">" is matched by "*"
            (">", False),
            ("foo.x.y", False),
            ("foo", False),
            ("*.x", False),
        ],
    )
    def test_subscription_subject_is_matched_as_a_literal_against_allow(self, subject, expected):
        assert subscribe_rules(allow=["foo.*"]).can_subscribe(subject) is expected

    def test_allow_full_wildcard_admits_narrower_wildcards(self):
        rules = subscribe_rules(allow=["foo.>"])
        assert rules.can_subscribe("foo.>")
        assert rules.can_subscribe("foo.*.bar")
        assert not rules.can_subscribe(">")
        assert not rules.can_subscribe("foo")

    def test_deny_refuses_equal_and_narrower_subscriptions(self):
        rules = subscribe_rules(deny=["secret.>"])
        assert not rules.can_subscribe("secret.>")
        assert not rules.can_subscribe("secret.*")
        assert not rules.can_subscribe("secret.a.b")

    def test_deny_accepts_wider_overlapping_subscriptions(self):
        rules = subscribe_rules(deny=["secret.>", "*.bar"])
        assert rules.can_subscribe(">")
        assert rules.can_subscribe("foo.*")
        assert rules.can_subscribe("*.*")
        assert not rules.can_subscribe("foo.bar")

    def test_deny_wins_over_allow(self):
        rules = subscribe_rules(allow=["foo.>"], deny=["foo.secret"])
        assert rules.can_subscribe("foo.open")
        assert not rules.can_subscribe("foo.secret")

    def test_empty_allow_list_is_no_restriction(self):
        assert subscribe_rules(allow=[]).can_subscribe("anything")

    def test_queue_entry_admits_only_that_queue_group(self):
        rules = subscribe_rules(allow=["foo v1"])
        assert rules.can_subscribe("foo", "v1")
        assert not rules.can_subscribe("foo", "v2")
        assert not rules.can_subscribe("foo")

    def test_plain_entry_admits_any_queue_group(self):
        rules = subscribe_rules(allow=["foo"])
        assert rules.can_subscribe("foo")
        assert rules.can_subscribe("foo", "anything")

    def test_queue_entry_beside_plain_entry_restricts_queue_groups(self):
        rules = subscribe_rules(allow=["foo", "foo v1"])
        assert rules.can_subscribe("foo")
        assert rules.can_subscribe("foo", "v1")
        assert not rules.can_subscribe("foo", "v2")

    def test_queue_entry_names_may_hold_wildcards(self):
        rules = subscribe_rules(allow=["x.* q.*"])
        assert rules.can_subscribe("x.y", "q.z")
        assert rules.can_subscribe("x.y", "q.*")
        assert not rules.can_subscribe("x.y", "q")
        assert not rules.can_subscribe("x.y", "q.z.w")
        assert not rules.can_subscribe("x.y")

    def test_queue_deny_entry_refuses_only_that_group(self):
        rules = subscribe_rules(deny=["den q1", "qq.> g1"])
        assert not rules.can_subscribe("den", "q1")
        assert rules.can_subscribe("den", "q2")
        assert rules.can_subscribe("den")
        assert not rules.can_subscribe("qq.x", "g1")
        assert not rules.can_subscribe("qq.*", "g1")
        assert rules.can_subscribe("qq.>", "g2")

    def test_reserved_system_queue_group_is_always_refused(self):
        assert not Permissions().can_subscribe("foo", RESERVED_QUEUE_GROUP)
        assert not subscribe_rules(allow=[">"]).can_subscribe("foo", "_sys_")


class TestDeliveryFilter:
    def test_without_deny_everything_is_delivered(self):
        assert subscribe_rules(allow=["foo.*"]).may_deliver("anything.else")

    def test_messages_on_denied_subjects_are_filtered(self):
        rules = subscribe_rules(deny=["*.bar", "secret.>"])
        assert not rules.may_deliver("foo.bar")
        assert not rules.may_deliver("secret.x.y")
        assert rules.may_deliver("foo.baz")
        assert rules.may_deliver("secret")

    def test_queue_deny_filters_only_that_group(self):
        rules = subscribe_rules(deny=["qq.> g1"])
        assert not rules.may_deliver("qq.x", "g1")
        assert rules.may_deliver("qq.x", "g2")
        assert rules.may_deliver("qq.x")

    def test_cached_answers_stay_right_beyond_the_cache_bound(self):
        rules = subscribe_rules(deny=["no.>"])
        for number in range(3000):
            assert rules.may_deliver(f"yes.{number}")
            assert not rules.may_deliver(f"no.{number}")
