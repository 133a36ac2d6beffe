"""The edgenats role's `edgenats_streams`, run for real against localhost (a broker run by the role's
handlers through `fake_systemctl.py`): the declared streams are created once the broker is up, a second
run changes nothing, a changed declaration updates the stream in place (the broker keeps running, the
stream keeps its messages), and a stream the role was not told about is left alone."""

from __future__ import annotations

import subprocess

import nats
from ansible_play import recap
from role_service import RoleRun, handler_ran

TASK = "TASK [edgenats : Streams are as declared]"
# Characters that would need quoting in a URL: the role hands credentials to the CLI outside one.
OPS = {"user": "ops", "password": "p@ss:w/rd"}


def streams_task(done: subprocess.CompletedProcess) -> str:
    """The streams task's status for localhost: `ok` or `changed`."""
    return done.stdout.split(TASK)[1].lstrip("* \n").split(":")[0]


async def test_declared_streams_are_created_kept_and_updated_in_place(tmp_path):
    role = RoleRun(tmp_path)
    telemetry = {"name": "TELEMETRY", "subjects": ["devices.*.telemetry"], "storage": "file", "max_age": "1h"}
    commands = {"name": "CMDS", "mirror": {"name": "COMMANDS", "external": {"api": "$JS.hub.API"}}}
    settings = {"edgenats_users": [OPS], "edgenats_jetstream_store_dir": str(tmp_path / "store"),
                "edgenats_streams": [telemetry, commands]}
    try:
        first = role(**settings)
        assert streams_task(first) == "changed"
        client = await nats.connect(f"nats://127.0.0.1:{role.port}", user=OPS["user"], password=OPS["password"])
        js = client.jetstream()
        info = await js.stream_info("TELEMETRY")
        assert (info.config.subjects, info.config.max_age, info.config.storage) == (
            ["devices.*.telemetry"], 3600, "file")
        assert (await js.stream_info("CMDS")).config.mirror.external.api == "$JS.hub.API"
        await js.add_stream(name="OTHER", subjects=["other.>"])
        await js.publish("devices.d1.telemetry", b"21.5")

        second = role(**settings)
        assert streams_task(second) == "ok" and "changed=0" in recap(second), second.stdout

        pid = role.pid()
        longer = settings | {"edgenats_streams": [telemetry | {"max_age": "2h", "max_msgs": 1000}, commands]}
        third = role(**longer)
        assert streams_task(third) == "changed" and "changed=1" in recap(third), third.stdout
        assert not handler_ran(third, "Restart edgenats") and role.pid() == pid
        info = await js.stream_info("TELEMETRY")
        assert (info.config.max_age, info.config.max_msgs, info.state.messages) == (7200, 1000, 1)
        assert (await js.stream_info("OTHER")).config.subjects == ["other.>"], "an undeclared stream stays"
        await client.close()
    finally:
        role.stop()

