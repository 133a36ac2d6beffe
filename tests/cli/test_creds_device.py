"""`edgenats creds device`: the entry it writes logs the device in on both servers, with its password in
either bcrypt form, and holds it to the device app's subjects; the include file stays as it is while the
password does."""

from __future__ import annotations

import asyncio
import json

import nats
import nats.errors
import pytest
from edgenats.cli.device_credentials import DeviceSubjects, write_include
from operator_cli import run_cli
from subscribed import subscribed

ADMIN = "{user: admin, password: adminpw}"


def make_device(config_dir, device_id: str, password: str) -> str:
    done = run_cli("creds", "device", device_id, "--password-from-stdin", "--config-dir", str(config_dir),
                   stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def device_config(*device_ids: str) -> str:
    includes = "".join(f'include "devices/{device_id}.conf"\n' for device_id in device_ids)
    users = "\n".join(f"    $device_{device_id}" for device_id in device_ids)
    return f"{includes}authorization {{\n  users = [\n    {ADMIN}\n{users}\n  ]\n}}\n"


async def test_a_device_user_reaches_its_own_subjects_only(server_kind, server_factory, tmp_path):
    devices = tmp_path / "servers" / "devices"
    assert make_device(devices, "dev-a", "a-secret") == "changed"
    assert make_device(devices, "dev-b", "b-secret") == "changed"
    server = server_factory(server_kind, device_config("dev-a", "dev-b"))
    errors: asyncio.Queue = asyncio.Queue()

    async def on_error(error):
        await errors.put(error)

    admin = await nats.connect(server.url, user="admin", password="adminpw")
    device = await nats.connect(server.url, user="dev-a", password="a-secret", inbox_prefix="_INBOX.dev-a",
                                error_cb=on_error, allow_reconnect=False)
    try:
        seen = await admin.subscribe("devices.>")
        commands = await device.subscribe("devices.dev-a.cmd")
        await subscribed(device)
        await device.publish("devices.dev-b.telemetry", b"forged")
        await device.publish("devices.dev-a.telemetry", b"reading")
        error = await asyncio.wait_for(errors.get(), 5)
        assert str(error) == 'nats: permissions violation for publish to "devices.dev-b.telemetry"'
        first = await seen.next_msg(timeout=5)
        assert (first.subject, first.data) == ("devices.dev-a.telemetry", b"reading")

        # a command is answered through allow_responses; a request the device makes gets its reply in
        # its own inbox
        asked = asyncio.ensure_future(admin.request("devices.dev-a.cmd", b"ping", timeout=5))
        command = await commands.next_msg(timeout=5)
        await device.publish(command.reply, b"pong")
        assert (await asked).data == b"pong"
        async def answer(msg):
            await admin.publish(msg.reply, msg.data)

        echo = await admin.subscribe("devices.dev-a.echo", cb=answer)
        await subscribed(admin)
        assert (await device.request("devices.dev-a.echo", b"hi", timeout=5)).data == b"hi"
        await echo.unsubscribe()

        await device.subscribe("devices.dev-b.cmd")
        error = await asyncio.wait_for(errors.get(), 5)
        assert str(error) == 'nats: permissions violation for subscription to "devices.dev-b.cmd"'
    finally:
        await device.close()
        await admin.close()

    with pytest.raises(nats.errors.Error, match="[Aa]uthorization"):
        await nats.connect(server.url, user="dev-a", password="b-secret", allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=2)


async def test_both_bcrypt_forms_log_in(server_kind, server_factory, tmp_path):
    entry_file = tmp_path / "entry.conf"
    done = run_cli("creds", "device", "dev-c", "--password-from-stdin", "--out", str(entry_file), stdin="c-pw\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", "a password from stdin is not shown again"
    assert oct(entry_file.stat().st_mode)[-3:] == "600"
    written = json.loads(entry_file.read_text())
    assert written["password"].startswith("$2a$11$")
    as_2b = dict(written, user="dev-c-2b", password="$2b$" + written["password"][4:])
    users = f"{json.dumps(written)}, {json.dumps(as_2b)}"
    server = server_factory(server_kind, f"authorization {{ users = [ {users} ] }}\n")
    for user in ("dev-c", "dev-c-2b"):
        client = await nats.connect(server.url, user=user, password="c-pw")
        await client.publish("devices.dev-c.status", b"up")
        await client.flush()
        await client.close()


def test_the_include_file_changes_only_with_the_password(tmp_path):
    devices, device = tmp_path / "devices", DeviceSubjects("dev-d")
    assert write_include(devices, device, "first")
    written = (devices / "dev-d.conf").read_text()
    assert oct((devices / "dev-d.conf").stat().st_mode)[-3:] == "640"
    assert not write_include(devices, device, "first")
    assert (devices / "dev-d.conf").read_text() == written
    assert write_include(devices, device, "second")
    assert (devices / "dev-d.conf").read_text() != written
    assert write_include(devices, DeviceSubjects("dev-d", commands_stream="CMDS"), "second"), "new permissions"

    generated = run_cli("creds", "device", "dev-e")
    assert generated.returncode == 0
    password = generated.stderr.split("password for device dev-e: ")[1].strip()
    assert len(password) >= 20 and password not in generated.stdout
    refused = run_cli("creds", "device", "dev/e")
    assert refused.returncode == 1 and "letters, digits" in refused.stderr
