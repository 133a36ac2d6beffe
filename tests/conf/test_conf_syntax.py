"""The config syntax forms: separators, comments, blocks, arrays, strings, numbers, booleans."""

import pytest
from edgenats.conf import ConfigMap, Position, parse_config_text


@pytest.mark.parametrize("text", ["a = 1", "a: 1", "a 1", "a=1", "a:1", "a\t1", "  a   =   1  "])
def test_key_value_separators(text):
    assert parse_config_text(text) == {"a": 1}


@pytest.mark.parametrize("text", ["a: 1\nb: 2", "a: 1, b: 2", "a: 1; b: 2", "a: 1,\nb: 2\n", "\n\na: 1\r\nb: 2\r\n"])
def test_entry_separators(text):
    assert parse_config_text(text) == {"a": 1, "b": 2}


def test_comments_to_end_of_line():
    text = "# heading\na: 1 # trailing\n// slashes\nb: 2 // trailing\n  # indented\n"
    assert parse_config_text(text) == {"a": 1, "b": 2}


def test_comment_markers_inside_values_are_kept():
    config = parse_config_text('url: nats://h:4222\nname: "a # b // c"\ntag: a#b')
    assert config == {"url": "nats://h:4222", "name": "a # b // c", "tag": "a#b"}


@pytest.mark.parametrize("text", [
    "auth { user: a\n password: b }",
    "auth = { user: a, password: b }",
    "auth: {\n  user: a\n  password: b\n}",
    "auth\n{\n  user: a; password: b\n}",
])
def test_map_block_forms(text):
    config = parse_config_text(text)
    assert config == {"auth": {"user": "a", "password": "b"}}
    assert isinstance(config["auth"], ConfigMap)


def test_nested_maps_are_config_maps_with_positions():
    config = parse_config_text("outer {\n  inner {\n    leaf: 1\n  }\n}\n", filename="n.conf")
    inner = config["outer"]["inner"]
    assert isinstance(inner, ConfigMap)
    assert inner.position_of("leaf") == Position("n.conf", 3)
    assert config.position_of("outer") == Position("n.conf", 1)
    assert config.position_of("missing") is None


@pytest.mark.parametrize("text", [
    "a: [1, 2, 3]",
    "a = [\n  1\n  2,\n  3,\n]",
    "a [\n 1 # one\n 2 // two\n 3\n]",
])
def test_array_forms(text):
    assert parse_config_text(text) == {"a": [1, 2, 3]}


def test_array_of_maps_and_nested_arrays():
    config = parse_config_text("r: [\n {url: 'x', n: [1, [2]]}\n {url: y}\n]\nempty: []")
    assert config == {"r": [{"url": "x", "n": [1, [2]]}, {"url": "y"}], "empty": []}
    assert all(isinstance(item, ConfigMap) for item in config["r"])


@pytest.mark.parametrize("text, expected", [
    (r'a: "tab\there"', "tab\there"),
    (r'a: "line\nbreak"', "line\nbreak"),
    (r'a: "q\"uote"', 'q"uote'),
    (r'a: "back\\slash"', "back\\slash"),
    (r'a: "\u00e9t\u00E9"', "été"),
    (r'a: "\x41"', "A"),
    (r"a: 'raw \n \t'", r"raw \n \t"),
    ("a: 'it said \"hi\"'", 'it said "hi"'),
    ('a: "spaces,  commas; and } braces"', "spaces,  commas; and } braces"),
    ('a: ""', ""),
    ("a: 'über'", "über"),
])
def test_quoted_strings(text, expected):
    assert parse_config_text(text) == {"a": expected}


@pytest.mark.parametrize("value", [
    "0.0.0.0:4222", "127.0.0.1:4222", "localhost:4222", "nats-leaf://user:pw@hub.example:7422",
    "nats://h:4222", "/var/log/nats.log", "sensors.>", "_INBOX.*", "10s", "1m30s", "250ms", "1h",
])
def test_bare_words_are_strings(value):
    assert parse_config_text(f"v: {value}\n") == {"v": value}


def test_bare_word_ends_at_terminators():
    assert parse_config_text("a {b: x}\nc: [y,z]\nd: w;e: v") == {
        "a": {"b": "x"}, "c": ["y", "z"], "d": "w", "e": "v"}


@pytest.mark.parametrize("text, expected", [
    ("42", 42), ("-7", -7), ("0", 0), ("1.5", 1.5), ("-0.25", -0.25),
    ("1k", 1000), ("1K", 1000), ("1kb", 1024), ("1KB", 1024), ("1ki", 1024), ("1kib", 1024),
    ("2m", 2_000_000), ("2mb", 2 * 1024**2), ("2MiB", 2 * 1024**2), ("3g", 3 * 10**9), ("3gb", 3 * 1024**3),
    ("1t", 10**12), ("1tb", 1024**4), ("-1k", -1000),
])
def test_numbers_and_size_suffixes(text, expected):
    value = parse_config_text(f"n: {text}")["n"]
    assert value == expected and type(value) is type(expected)


def test_unquoted_minutes_is_a_size_like_in_nats_server():
    # nats-server reads `ping_interval: 2m` as 2,000,000 (then as seconds); quoted it is a duration.
    assert parse_config_text('ping_interval: 2m\nquoted: "2m"') == {"ping_interval": 2_000_000, "quoted": "2m"}


@pytest.mark.parametrize("word, expected", [
    ("true", True), ("TRUE", True), ("yes", True), ("Yes", True), ("on", True), ("ON", True),
    ("false", False), ("False", False), ("no", False), ("NO", False), ("off", False), ("Off", False),
])
def test_booleans(word, expected):
    assert parse_config_text(f"b: {word}")["b"] is expected


def test_quoted_boolean_words_stay_strings():
    assert parse_config_text('b: "true"') == {"b": "true"}


def test_keys_keep_spelling_and_may_be_quoted():
    config = parse_config_text('Server_Name: a\n"quoted key": 1\n\'single\': 2\nmax-conn: 3')
    assert list(config) == ["Server_Name", "quoted key", "single", "max-conn"]


def test_duplicate_key_later_wins_with_its_position():
    config = parse_config_text("a: 1\nb: 2\na: 3\n")
    assert config == {"a": 3, "b": 2}
    assert config.position_of("a").line == 3


def test_whole_file_wrapped_in_braces_json_style():
    config = parse_config_text('{\n  "port": 4222,\n  "auth": {"user": "a"},\n  "list": [1, 2]\n}\n')
    assert config == {"port": 4222, "auth": {"user": "a"}, "list": [1, 2]}


def test_empty_and_comment_only_texts():
    assert parse_config_text("") == {}
    assert parse_config_text("# nothing\n\n// here\n") == {}
    assert isinstance(parse_config_text(""), ConfigMap)


def test_multiline_quoted_string():
    assert parse_config_text('pem: "line1\nline2"\nnext: 1') == {"pem": "line1\nline2", "next": 1}
