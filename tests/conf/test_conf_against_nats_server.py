"""Cross-check with the real nats-server (`-t` tests a config file and exits): our valid examples are
valid there too, and broken ones are rejected by both."""

import subprocess
from pathlib import Path

import pytest
from conf_examples import HUB, JSON_STYLE, LEAF
from edgenats.conf import ConfigError, load_config
from edgenats.options import OptionsError, options_from_config
from servers import nats_server_binary


def nats_server_accepts(config_path: Path) -> tuple[bool, str]:
    result = subprocess.run([nats_server_binary(), "-t", "-c", str(config_path)],
                            capture_output=True, text=True, timeout=30, cwd=config_path.parent)
    return result.returncode == 0, result.stdout + result.stderr


VALID = {
    "hub": HUB,
    "leaf": LEAF,
    "json": JSON_STYLE,
    "separators": "server_name = a; port: 4333, max_payload 64KB\n# comment\nping_max: 3 // trailing\n",
    "allman_block": "authorization\n{\n  user: a\n  password: 'p w'\n}\n",
    "addresses": "listen: 0.0.0.0:4333\nhttp: 127.0.0.1:8333\n",
    "arrays": "authorization {\n users = [\n  {user: a, password: b}\n  {user: c, password: d},\n ]\n}\n",
}

BROKEN = {
    "unterminated_string": 'server_name: "edge\n',
    "unclosed_block": "authorization {\n  user: a\n",
    "missing_value": "server_name:\nport: 4333\n",
    "two_values": "server_name: a b\n",
    "double_comma_in_array": "authorization { users = [ {user: a, password: b},, ] }\n",
    "bad_float": "authorization { timeout: 1.5s }\n",
    "bad_escape": 'server_name: "a\\qb"\n',
    "undefined_variable": "server_name: $EDGENATS_SURELY_UNDEFINED\n",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_examples_accepted_by_both(tmp_path, name):
    path = tmp_path / f"{name}.conf"
    path.write_text(VALID[name])
    accepted, output = nats_server_accepts(path)
    assert accepted, output
    assert load_config(path)


def test_include_example_accepted_by_both(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "users.conf").write_text("users = [ {user: a, password: b} ]\n")
    main = tmp_path / "main.conf"
    main.write_text("server_name: inc\nauthorization {\n  include sub/users.conf\n}\n")
    accepted, output = nats_server_accepts(main)
    assert accepted, output
    assert load_config(main)["authorization"]["users"] == [{"user": "a", "password": "b"}]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_examples_rejected_by_both(tmp_path, name, monkeypatch):
    monkeypatch.delenv("EDGENATS_SURELY_UNDEFINED", raising=False)
    path = tmp_path / f"{name}.conf"
    path.write_text(BROKEN[name])
    accepted, output = nats_server_accepts(path)
    assert not accepted, output
    with pytest.raises(ConfigError):
        load_config(path)


def test_missing_include_rejected_by_both(tmp_path):
    main = tmp_path / "main.conf"
    main.write_text("server_name: x\ninclude nowhere.conf\n")
    assert not nats_server_accepts(main)[0]
    with pytest.raises(ConfigError, match="not found"):
        load_config(main)


@pytest.mark.parametrize("used", [True, False])
def test_top_level_variable_from_an_include_is_no_setting_only_when_used(tmp_path, used):
    """The per-device include files of `edgenats creds device`: a top-level key that a `$name` refers to is a
    variable, not an unknown setting; one nothing refers to is an unknown setting on both servers."""
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "dev-1.conf").write_text('device_dev-1 = {user: "dev-1", password: "pw"}\n')
    users = "$device_dev-1" if used else "{user: other, password: pw}"
    main = tmp_path / "main.conf"
    main.write_text(f'include "devices/dev-1.conf"\nauthorization {{\n  users = [ {users} ]\n}}\n')
    accepted, output = nats_server_accepts(main)
    assert accepted is used, output
    if used:
        assert options_from_config(load_config(main), str(main)).authorization["users"][0]["user"] == "dev-1"
    else:
        with pytest.raises(OptionsError, match="unknown configuration key 'device_dev-1'"):
            options_from_config(load_config(main), str(main))
