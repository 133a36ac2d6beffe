"""The serial_bridge role run for real (ansible-core, the real useradd and groupadd, /etc overlaid: see
private_etc.py) beside the sensors role: with boards listed it writes the bridge's config (a board known
by its USB serial number at its stable link /dev/edgenats/<name>, one known by its path at that path),
the udev rule making that link, the serial drivers loaded at boot, its own system user in the dialout
group, and a hardened unit that systemd-analyze accepts; the sensors role, with no sensors listed,
writes nothing; a changed board list rewrites only the bridge's config and notifies only the bridge's
restart. With neither list, nothing is installed or written at all. (test_ansible_services_run.py runs
the services themselves.)"""

from __future__ import annotations

import json

from ansible_play import BIN, recap
from role_files import notified, systemd_complaints, task_status, udev_rules, unit_directives

DOOR = {"name": "door", "usb_serial": "E6614C311B4B7C28"}
BY_PATH = {"path": "/dev/serial/by-id/usb-Espressif_USB_JTAG_serial_debug_unit_F4:12:FA:00:11:22-if00", "baud": 9600}


def test_serial_bridge_is_installed_with_stable_port_names_and_restarted_alone(services_play):
    # A broker with a token only: the bridge gets it in the server URL.
    settings = {"edgenats_serial_boards": [DOOR, BY_PATH], "edgenats_users": [], "edgenats_token": "s3cret-token"}
    first = services_play(**settings)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr

    config_file = services_play.etc("/etc/edgenats/serial.json")
    assert oct(config_file.stat().st_mode)[-3:] == "600", "it holds the broker's token: root only"
    assert json.loads(config_file.read_text()) == {
        "servers": ["nats://s3cret-token@127.0.0.1:4222"], "site": "site1", "node": "pi1", "stream": "auto",
        "ports": [{"path": "/dev/edgenats/door", "baud": 115200}, {"path": BY_PATH["path"], "baud": 9600}]}
    rules = udev_rules(services_play.etc("/etc/udev/rules.d/60-edgenats-serial.rules").read_text())
    assert rules == [[("SUBSYSTEM", "==", "tty"), ("ATTRS{serial}", "==", "E6614C311B4B7C28"),
                      ("SYMLINK", "+=", "edgenats/door"), ("GROUP", "=", "dialout"), ("MODE", "=", "0660")]]
    assert services_play.members("dialout") == ["edgenats-serial"]

    unit = unit_directives(services_play.etc("/etc/systemd/system/edgenats-serial.service").read_text())
    assert unit["[Unit] After"] == unit["[Unit] Wants"] == ["edgenats.service"]
    assert unit["[Service] ExecStart"] == [f"{BIN}/edgenats-serial --config %d/serial.json"]
    assert unit["[Service] LoadCredential"] == ["serial.json:/etc/edgenats/serial.json"]
    assert unit["[Service] User"] == ["edgenats-serial"] and unit["[Service] Restart"] == ["always"]
    assert unit["[Service] MemoryMax"] == ["64M"] and unit["[Service] NoNewPrivileges"] == ["yes"]
    assert unit["[Service] ProtectSystem"] == ["strict"] and "[Service] PrivateDevices" not in unit
    assert unit["[Service] DevicePolicy"] == ["closed"]
    assert unit["[Service] DeviceAllow"] == ["char-ttyUSB rw", "char-ttyACM rw"]
    assert systemd_complaints(services_play, "edgenats-serial.service", BIN / "edgenats-serial") == []
    # The drivers load at boot, before the unit starts: systemd resolves DeviceAllow's groups then.
    modules = services_play.etc("/etc/modules-load.d/edgenats-serial.conf").read_text().splitlines()
    assert [line for line in modules if not line.startswith("#")] == ["usbserial", "cdc_acm"]
    assert {"serial_bridge : Reload udev rules for the serial ports", "serial_bridge : Load serial drivers",
            "serial_bridge : Restart edgenats-serial"} <= notified(first)

    # No sensors listed: the sensors role wrote nothing and made no account or group.
    assert task_status(first, "sensors", "Sensor service is installed in the broker's virtualenv") == "skipping"
    assert not [path for path in services_play.written() if "sensors" in path or "i2c" in path]
    assert services_play.members("i2c") is None

    replugged = services_play(**settings | {"edgenats_serial_boards": [DOOR | {"baud": 230400}, BY_PATH]})
    assert "changed=1" in recap(replugged), replugged.stdout[-4000:]
    assert task_status(replugged, "serial_bridge", "Serial bridge config is written") == "changed"
    assert notified(replugged) == {"serial_bridge : Restart edgenats-serial"}
    assert json.loads(config_file.read_text())["ports"][0] == {"path": "/dev/edgenats/door", "baud": 230400}


def test_without_sensors_or_boards_nothing_is_installed(services_play):
    done = services_play()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "changed=0" in recap(done) and not notified(done)
    assert task_status(done, "serial_bridge", "Serial bridge is installed in the broker's virtualenv") == "skipping"
    assert services_play.written() == set(), "no account, group, file or unit"


def test_a_board_whose_usb_serial_yaml_read_as_a_number_fails_the_play(services_play):
    # `usb_serial: 0001` unquoted: YAML gives the number 1, which no board reports.
    done = services_play(edgenats_serial_boards=[{"name": "door", "usb_serial": 1}])
    assert done.returncode != 0
    assert "in quotes when it is all digits" in done.stdout, done.stdout[-3000:]
    assert services_play.written() == set()
