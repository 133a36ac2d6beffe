"""Reading `permissions { ... }` blocks: every accepted shape and the errors for wrong ones."""

import pytest
from edgenats.auth import AuthConfigError, Permissions, ResponsePermission
from edgenats.conf import parse_config_text


def permissions_from_text(text: str) -> Permissions:
    """Parse the block with the real config reader, as the broker does."""
    return Permissions.from_config(parse_config_text(f"permissions {{ {text} }}")["permissions"])


def test_single_string_is_an_allow_list():
    rules = permissions_from_text('publish: "a.>"')
    assert rules.can_publish("a.b")
    assert not rules.can_publish("b")


def test_array_is_an_allow_list():
    rules = permissions_from_text('publish: ["a.>", "b"]')
    assert rules.can_publish("b")
    assert not rules.can_publish("c")


def test_allow_and_deny_map():
    rules = permissions_from_text('subscribe: { allow: ["foo.>"], deny: "foo.secret" }')
    assert rules.can_subscribe("foo.x")
    assert not rules.can_subscribe("foo.secret")
    assert not rules.can_subscribe("bar")


@pytest.mark.parametrize("publish_key", ["pub", "PUBLISH", "import"])
@pytest.mark.parametrize("subscribe_key", ["sub", "Subscribe", "export"])
def test_key_aliases_in_any_case(publish_key, subscribe_key):
    rules = Permissions.from_config({publish_key: "p", subscribe_key: "s"})
    assert rules.can_publish("p") and not rules.can_publish("s")
    assert rules.can_subscribe("s") and not rules.can_subscribe("p")


def test_queue_form_entries_are_read_for_subscribe():
    rules = permissions_from_text('subscribe: ["foo v1"]')
    assert rules.can_subscribe("foo", "v1")
    assert not rules.can_subscribe("foo")


def test_empty_arrays_mean_no_restriction_as_in_nats_server():
    rules = permissions_from_text("publish: [], subscribe: { allow: [] }")
    assert rules.can_publish("anything")
    assert rules.can_subscribe("anything")


def test_allow_responses_true_uses_defaults_and_blocks_other_publishing():
    rules = permissions_from_text("allow_responses: true")
    assert rules.allow_responses == ResponsePermission(max_msgs=1, expires=120.0)
    assert not rules.can_publish("anything")


def test_allow_responses_map_with_max_and_expires():
    rules = permissions_from_text('publish_allow_responses: { max: 5, expires: "1m30s" }')
    assert rules.allow_responses == ResponsePermission(max_msgs=5, expires=90.0)


def test_allow_responses_zero_values_mean_defaults():
    rules = Permissions.from_config({"allow_responses": {"max": 0, "expires": "0s"}})
    assert rules.allow_responses == ResponsePermission(1, 120.0)


def test_allow_responses_keeps_an_explicit_publish_allow_list():
    rules = permissions_from_text('publish: "events.>", allow_responses: true')
    assert rules.can_publish("events.x")
    assert not rules.can_publish("other")


def test_allow_responses_false_is_off():
    rules = permissions_from_text("allow_responses: false")
    assert rules.allow_responses is None
    assert rules.can_publish("anything")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("not a map", "permissions: expected a map"),
        ({"publish": 5}, "expected a subject or an array of subjects"),
        ({"publish": ["ok", 5]}, "not a string"),
        ({"publish": {"allow": "a", "block": "b"}}, "only 'allow' or 'deny' are permitted"),
        ({"publish": "foo..bar"}, "'foo..bar' is not a valid subject"),
        ({"publish": "foo v1"}, "'foo v1' is not a valid subject"),
        ({"subscribe": "foo v1 extra"}, "'foo v1 extra' is not a valid subject"),
        ({"subscribe": "foo..x v1"}, "'foo..x' is not a valid subject"),
        ({"subscribe": {"deny": "foo >.x"}}, "queue '>.x' is not a valid queue"),
        ({"subscribe": "> .x"}, "not a valid"),
        ({"allow_responses": "yes please"}, "expected a boolean or a map"),
        ({"allow_responses": {"max": "1"}}, "max must be an integer"),
        ({"allow_responses": {"expires": 60}}, "expires must be a duration string"),
        ({"allow_responses": {"expires": "2 minutes"}}, "invalid duration"),
        ({"allow_responses": {"limit": 1}}, "unknown field 'limit'"),
        ({"publish": "a", "admin": True}, "unknown field 'admin'"),
    ],
)
def test_invalid_shapes_name_the_problem(spec, message):
    with pytest.raises(AuthConfigError) as caught:
        Permissions.from_config(spec)
    assert message in str(caught.value)


def test_auth_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        Permissions.from_config({"publish": 1})
