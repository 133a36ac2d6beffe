"""The sensors role run for real (ansible-core, the real useradd and groupadd, /etc overlaid: see
private_etc.py) beside the serial_bridge role: with sensors listed it writes the service's config from the
inventory and the broker's settings, its own system user in the i2c group (created), a hardened unit that
systemd-analyze accepts, the I2C udev rule and the i2c-dev module; a second run changes nothing; a changed
sensor list rewrites only the sensor config and notifies only the sensor service's restart (with the
service run for real: test_ansible_services_run.py). A bad entry fails the play before anything is
written."""

from __future__ import annotations

import json

from ansible_play import BIN, recap
from role_files import notified, systemd_complaints, task_status, udev_rules, unit_directives

GREENHOUSE = {"name": "greenhouse", "type": "bme280", "bus": 1, "address": 0x76}
SHED = {"name": "shed", "type": "sht31", "bus": 1, "address": 0x44, "interval_s": 30, "subject": "site1.pi1.shed.air"}
BOARD = {"name": "door", "usb_serial": "E6614C311B4B7C28"}
RESTART_SENSORS, RESTART_SERIAL = "sensors : Restart edgenats-sensors", "serial_bridge : Restart edgenats-serial"


def test_sensor_service_is_installed_then_left_alone_and_restarted_alone(services_play):
    settings = {"edgenats_sensors": [GREENHOUSE, SHED], "edgenats_serial_boards": [BOARD]}
    first = services_play(**settings)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr

    config_file = services_play.etc("/etc/edgenats/sensors.json")
    assert oct(config_file.stat().st_mode)[-3:] == "600", "it holds the broker password: root only"
    assert json.loads(config_file.read_text()) == {
        "servers": ["nats://127.0.0.1:4222"], "user": "svc", "password": "pw", "site": "site1", "node": "pi1",
        "stream": "auto", "sensors": [GREENHOUSE | {"interval_s": 10}, SHED]}
    assert services_play.members("i2c") == ["edgenats-sensors"]
    passwd = services_play.etc("/etc/passwd").read_text()
    assert "edgenats-sensors:x:" in passwd and ":/nonexistent:/usr/sbin/nologin" in passwd

    unit = unit_directives(services_play.etc("/etc/systemd/system/edgenats-sensors.service").read_text())
    assert unit["[Unit] After"] == unit["[Unit] Wants"] == ["edgenats.service"]
    assert unit["[Service] ExecStart"] == [f"{BIN}/edgenats-sensors --config %d/sensors.json"]
    assert unit["[Service] LoadCredential"] == ["sensors.json:/etc/edgenats/sensors.json"]
    assert unit["[Service] User"] == ["edgenats-sensors"] and unit["[Service] Restart"] == ["always"]
    assert unit["[Service] MemoryMax"] == ["64M"] and unit["[Service] NoNewPrivileges"] == ["yes"]
    assert unit["[Service] ProtectSystem"] == ["strict"] and "[Service] PrivateDevices" not in unit
    assert (unit["[Service] DevicePolicy"], unit["[Service] DeviceAllow"]) == (["closed"], ["char-i2c rw"])
    # systemd's own check of the unit, as root reads it on the node: all it may miss is the service's
    # program, until the sensors package is installed in this virtualenv.
    assert systemd_complaints(services_play, "edgenats-sensors.service", BIN / "edgenats-sensors") == []

    rules = udev_rules(services_play.etc("/etc/udev/rules.d/60-edgenats-i2c.rules").read_text())
    assert rules == [[("SUBSYSTEM", "==", "i2c-dev"), ("KERNEL", "==", "i2c-[0-9]*"), ("GROUP", "=", "i2c"),
                      ("MODE", "=", "0660")]]
    modules = services_play.etc("/etc/modules-load.d/edgenats-sensors.conf").read_text().splitlines()
    assert [line for line in modules if not line.startswith("#")] == ["i2c-dev"]
    assert {"sensors : Reload udev rules for the I2C buses", "sensors : Load I2C modules",
            RESTART_SENSORS} <= notified(first)

    second = services_play(**settings)
    assert "changed=0" in recap(second) and not notified(second), second.stdout[-4000:]

    moved = services_play(**settings | {"edgenats_sensors": [GREENHOUSE | {"interval_s": 5}]})
    assert "changed=1" in recap(moved), moved.stdout[-4000:]
    assert task_status(moved, "sensors", "Sensor service config is written") == "changed"
    assert notified(moved) == {RESTART_SENSORS}, "the serial bridge keeps running"
    assert json.loads(config_file.read_text())["sensors"] == [GREENHOUSE | {"interval_s": 5}]


def test_a_bad_sensor_entry_fails_before_anything_is_written(services_play):
    done = services_play(edgenats_sensors=[GREENHOUSE | {"address": "0x76"}])
    assert done.returncode != 0
    assert "each entry of edgenats_sensors needs a unique name" in done.stdout, done.stdout[-3000:]
    assert services_play.written() == set()
