"""What `edgenats device provision` refuses, and what its --dry-run plan shows, before any board is touched."""

from __future__ import annotations

from firmware_helpers import device_cli, write_config


def test_dry_run_prints_the_staged_files_and_mpremote_commands(tmp_path):
    config = write_config(tmp_path / "d1.json", device_id="d1", servers=["nats://10.0.0.2:4222"],
                          wifi={"ssid": "site", "password": "pw"})
    done = device_cli("provision", "--board", "esp32", "--port", "/dev/ttyUSB7", "--config", str(config),
                      "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("board esp32 ") and lines[0].endswith("on /dev/ttyUSB7")
    staged = [line.split()[1] for line in lines if line.startswith("  stage ")]
    assert {"boot.py", "main.py", "config.json", "lib/edgeapp.mpy", "lib/unats/__init__.mpy"} <= set(staged)
    assert any(line.startswith("copy: ") and "mpremote connect /dev/ttyUSB7 resume fs cp -r . :" in line
               for line in lines)
    assert any(line.startswith("start: ") and line.split("   ")[0].endswith("resume reset") for line in lines)


def test_missing_port_is_refused(tmp_path):
    config = write_config(tmp_path / "d1.json", device_id="d1", servers=["nats://10.0.0.2:4222"])
    done = device_cli("provision", "--board", "unix", "--port", str(tmp_path / "ttyUSB9"), "--config", str(config))
    assert done.returncode == 1
    assert f"serial port {tmp_path / 'ttyUSB9'} does not exist" in done.stderr


def test_incomplete_config_lists_every_problem(tmp_path):
    config = write_config(tmp_path / "bad.json", device_id="dev 1", servers=["http://hub:80"], user="dev",
                          subjects={"telemetry": "a.*"})
    done = device_cli("provision", "--board", "esp8266", "--port", "/dev/null", "--config", str(config))
    assert done.returncode == 1
    assert "device config is incomplete" in done.stderr
    for problem in ("device_id:", "servers: 'http://hub:80'", "wifi.ssid: required for board esp8266",
                    "user and password", "subjects.telemetry: 'a.*'"):
        assert problem in done.stderr


def test_unknown_board_and_unreadable_config_are_refused(tmp_path):
    config = write_config(tmp_path / "d1.json", device_id="d1", servers=["nats://h:4222"])
    unknown = device_cli("provision", "--board", "arduino", "--port", "/dev/null", "--config", str(config))
    assert unknown.returncode == 1 and "unknown board 'arduino'; known boards: esp32, esp8266, picow, unix" in \
        unknown.stderr
    (tmp_path / "broken.json").write_text("{not json")
    broken = device_cli("provision", "--board", "unix", "--port", "/dev/null", "--config",
                        str(tmp_path / "broken.json"))
    assert broken.returncode == 1 and "cannot read the device config" in broken.stderr


def test_commands_stream_must_be_a_stream_name(tmp_path):
    config = write_config(tmp_path / "d1.json", device_id="d1", servers=["nats://h:4222"], commands_stream="CMDS.x")
    done = device_cli("provision", "--board", "unix", "--port", "/dev/null", "--config", str(config))
    assert done.returncode == 1
    assert "commands_stream: 'CMDS.x' is not a stream name" in done.stderr
    config = write_config(tmp_path / "d2.json", device_id="d2", servers=["nats://h:4222"], commands_stream="CMDS",
                          wifi={"ssid": "site"})
    done = device_cli("provision", "--board", "esp8266", "--port", "/dev/ttyUSB0", "--config", str(config),
                      "--dry-run")
    assert done.returncode == 0, done.stderr


def test_serial_transport_refuses_what_only_wifi_uses(tmp_path):
    config = write_config(tmp_path / "s1.json", device_id="s1", transport="serial", servers=["nats://h:4222"],
                          wifi={"ssid": "site"}, commands_stream="CMDS", acked=False)
    done = device_cli("provision", "--board", "esp32", "--port", "/dev/null", "--config", str(config))
    assert done.returncode == 1
    for key in ("servers", "wifi", "commands_stream"):
        assert f"{key}: not used with the serial transport" in done.stderr
    assert "acked: the serial transport always keeps readings until the bridge acks them" in done.stderr
    config = write_config(tmp_path / "s2.json", device_id="s2", transport="usb")
    done = device_cli("provision", "--board", "unix", "--port", "/dev/null", "--config", str(config))
    assert done.returncode == 1 and "transport: 'usb' is not one of wifi, serial" in done.stderr
    config = write_config(tmp_path / "s3.json", device_id="s3", transport="serial")
    done = device_cli("provision", "--board", "esp32", "--port", "/dev/ttyUSB0", "--config", str(config), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "  stage lib/seriallink.mpy" in done.stdout.splitlines()
