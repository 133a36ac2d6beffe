"""$NAME variables: earlier keys of the current or enclosing blocks, then the environment."""

import pytest
from edgenats.conf import ConfigError, parse_config_text


def test_variable_refers_to_earlier_top_level_key():
    config = parse_config_text("limit: 1MB\nmax_payload: $limit\n")
    assert config["max_payload"] == 1024 * 1024


def test_variable_from_enclosing_block_and_current_block():
    text = """PASS: outer
auth {
  LOCAL: inner
  users = [ {user: a, password: $PASS}, {user: b, password: $LOCAL} ]
}"""
    users = parse_config_text(text)["auth"]["users"]
    assert [user["password"] for user in users] == ["outer", "inner"]


def test_innermost_definition_wins():
    config = parse_config_text("x: top\nblock { x: inner\n y: $x }\nz: $x")
    assert config["block"]["y"] == "inner"
    assert config["z"] == "top"


def test_variable_can_hold_a_map_copied_not_shared():
    config = parse_config_text("perms { publish: ['a.>'] }\nu1: $perms\nu2: $perms")
    assert config["u1"] == config["u2"] == {"publish": ["a.>"]}
    config["u1"]["publish"].append("b")
    assert config["u2"] == {"publish": ["a.>"]}


def test_variable_defined_later_is_not_visible(monkeypatch):
    monkeypatch.delenv("later", raising=False)
    with pytest.raises(ConfigError, match=r"undefined variable '\$later'") as caught:
        parse_config_text("a: $later\nlater: 1", filename="v.conf")
    assert (caught.value.filename, caught.value.line) == ("v.conf", 1)


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("EDGENATS_TEST_NAME", "edge-from-env")
    assert parse_config_text("server_name: $EDGENATS_TEST_NAME") == {"server_name": "edge-from-env"}


@pytest.mark.parametrize("raw, expected", [
    ("4MB", 4 * 1024**2), ("true", True), ("12", 12), ("1.5", 1.5), ("plain", "plain"),
    ("two words", "two words"), ("$NOT_EXPANDED", "$NOT_EXPANDED"), ("", ""), ("[1, 2]", [1, 2]),
])
def test_environment_values_are_read_as_config_values(monkeypatch, raw, expected):
    monkeypatch.setenv("EDGENATS_TEST_VALUE", raw)
    assert parse_config_text("v: $EDGENATS_TEST_VALUE")["v"] == expected


def test_config_key_shadows_environment(monkeypatch):
    monkeypatch.setenv("EDGENATS_TEST_SHADOW", "from-env")
    assert parse_config_text("EDGENATS_TEST_SHADOW: from-file\nv: $EDGENATS_TEST_SHADOW")["v"] == "from-file"


def test_undefined_variable_names_it(monkeypatch):
    monkeypatch.delenv("EDGENATS_TEST_MISSING", raising=False)
    with pytest.raises(ConfigError) as caught:
        parse_config_text("a: 1\n\nb: $EDGENATS_TEST_MISSING", filename="m.conf")
    assert str(caught.value).startswith("m.conf:3: undefined variable '$EDGENATS_TEST_MISSING'")


@pytest.mark.parametrize("hash_prefix", ["$2a$", "$2b$", "$2x$", "$2y$"])
def test_unquoted_bcrypt_hash_is_literal(hash_prefix):
    hashed = hash_prefix + "11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.K..qlS"
    assert parse_config_text(f"password: {hashed}") == {"password": hashed}


def test_real_bcrypt_hash_survives_and_verifies():
    bcrypt = pytest.importorskip("bcrypt")
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    password = parse_config_text(f"authorization {{ user: a, password: {hashed} }}")["authorization"]["password"]
    assert bcrypt.checkpw(b"s3cret", password.encode())


def test_quoted_dollar_is_not_a_variable():
    assert parse_config_text("a: '$HOME'\nb: \"$HOME\"") == {"a": "$HOME", "b": "$HOME"}


def test_braced_variable_form_is_rejected_clearly():
    with pytest.raises(ConfigError, match=r"\$\{NAME\} form is not supported"):
        parse_config_text("a: 1\nb: ${a}")


def test_lone_dollar_is_an_error():
    with pytest.raises(ConfigError, match="without a variable name"):
        parse_config_text("a: $")
