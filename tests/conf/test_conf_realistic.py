"""Real-looking nats-server configs (accounts, users lists, leafnode remotes) read into nested data."""

from conf_examples import HUB, JSON_STYLE, LEAF
from edgenats.conf import parse_config_text


def test_hub_config():
    config = parse_config_text(HUB, filename="hub.conf")
    assert config["listen"] == "127.0.0.1:4222"
    assert config["max_payload"] == 1024 * 1024
    assert config["max_connections"] == 64_000
    assert config["max_control_line"] == 4096
    assert (config["ping_interval"], config["write_deadline"]) == ("2m", "10s")
    assert (config["debug"], config["trace"], config["logtime"]) == (False, False, True)
    sensors = config["accounts"]["SENSORS"]
    pi_hash = "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.K..qlS"
    assert sensors["users"][0] == {"user": "pi", "password": pi_hash}
    assert sensors["users"][1]["permissions"] == {"publish": ["sensors.>"], "subscribe": ["_INBOX.>"]}
    assert sensors["exports"] == [{"stream": "sensors.>"}]
    assert config["accounts"]["APP"]["imports"] == [{"stream": {"account": "SENSORS", "subject": "sensors.>"}}]
    assert config["system_account"] == "SYS"
    assert config["leafnodes"]["authorization"] == {
        "users": [{"user": "leaf", "password": "leafpass", "account": "SENSORS"}], "timeout": 2}
    assert config["accounts"].position_of("APP").line == 24


def test_leaf_config():
    config = parse_config_text(LEAF, filename="leaf.conf")
    assert (config["server_name"], config["listen"]) == ("edge-7", "127.0.0.1:4222")
    assert config["max_pending"] == 64 * 1024 * 1024
    users = config["authorization"]["users"]
    assert users[0] == {"user": "local", "password": "leaf pass"}
    assert users[1]["password"] == "raw\\no-escape"
    assert users[2]["password"] == "tab\there"
    assert users[2]["permissions"]["publish"] == {"allow": ["sensors.>"], "deny": ["sensors.secret"]}
    assert config["authorization"]["timeout"] == 1.5
    remotes = config["leafnodes"]["remotes"]
    assert remotes == [
        {"url": "nats-leaf://leaf:leafpass@127.0.0.1:7422", "deny_imports": ["local.>"]},
        {"urls": ["nats-leaf://127.0.0.1:7423", "nats://127.0.0.1:7424"], "hub": False},
    ]
    assert remotes[0].position_of("deny_imports").line == 20


def test_json_style_config():
    assert parse_config_text(JSON_STYLE) == {
        "server_name": "json-node", "port": 4333, "authorization": {"token": "s3cr3t", "timeout": 0.5},
        "max_payload": 65536}
