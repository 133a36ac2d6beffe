"""`edgenats stream apply`, `ls` and `info` as an operator (or Ansible) runs them, against both servers:
apply creates what is missing, changes nothing the second time, updates only what differs and says
which fields changed, leaves undeclared streams alone, and shows a server's refusal as one line."""

from __future__ import annotations

import json
import os

import nats
import pytest
from operator_cli import run_cli

TELEMETRY = {"name": "TELEMETRY", "subjects": ["devices.*.telemetry"], "max_age": "1h", "max_bytes": "1MB"}
COMMANDS = {"name": "CMDS", "mirror": {"name": "COMMANDS", "external": {"api": "$JS.hub.API"}}}


@pytest.fixture
def js_server(server_kind, server_factory, tmp_path):
    return server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store")])


def apply(server, path) -> tuple[int, str, str]:
    done = run_cli("-s", server.url, "stream", "apply", str(path))
    return done.returncode, done.stdout, done.stderr


async def test_apply_creates_then_changes_nothing_then_updates_what_differs(js_server, tmp_path):
    declared = tmp_path / "streams.json"
    declared.write_text(json.dumps([TELEMETRY, COMMANDS]))
    assert apply(js_server, declared) == (0, "Stream TELEMETRY created\nStream CMDS created\n", "")
    client = await nats.connect(js_server.url)
    js = client.jetstream()
    config = (await js.stream_info("TELEMETRY")).config
    assert (config.subjects, config.max_age, config.max_bytes) == (["devices.*.telemetry"], 3600, 1024 * 1024)
    assert (await js.stream_info("CMDS")).config.mirror.name == "COMMANDS"
    await js.add_stream(name="OTHER", subjects=["other.>"])
    await js.publish("devices.d1.telemetry", b"21.5")

    assert apply(js_server, declared) == (0, "Stream TELEMETRY unchanged\nStream CMDS unchanged\n", "")

    declared.write_text(json.dumps([TELEMETRY | {"max_age": "2h", "max_msgs": 100}, COMMANDS]))
    assert apply(js_server, declared) == (
        0, "Stream TELEMETRY updated (max_msgs, max_age)\nStream CMDS unchanged\n", "")
    info = await js.stream_info("TELEMETRY")
    assert (info.config.max_age, info.config.max_msgs, info.state.messages) == (7200, 100, 1)
    assert (await js.stream_info("OTHER")).config.subjects == ["other.>"], "a stream not declared stays"
    await client.close()


def test_apply_reads_standard_input_and_a_value_the_server_normalises_is_no_change(js_server):
    # An unset limit (0) is kept as -1: the second apply sends an update that changes nothing.
    declared = json.dumps({"name": "READINGS", "subjects": ["readings.>"], "max_msgs": 0})
    first = run_cli("-s", js_server.url, "stream", "apply", "-", stdin=declared)
    assert (first.returncode, first.stdout) == (0, "Stream READINGS created\n"), first.stderr
    again = run_cli("-s", js_server.url, "stream", "apply", "-", stdin=declared)
    assert (again.returncode, again.stdout) == (0, "Stream READINGS unchanged\n"), again.stderr


def test_apply_shows_the_servers_refusal_and_stops(js_server, tmp_path):
    declared = tmp_path / "streams.json"
    declared.write_text(json.dumps(TELEMETRY))
    assert apply(js_server, declared)[0] == 0
    declared.write_text(json.dumps([TELEMETRY | {"storage": "memory"}, COMMANDS]))
    assert apply(js_server, declared) == (
        1, "", "edgenats: error: stream TELEMETRY: stream configuration update can not change storage type (10052)\n")
    declared.write_text(json.dumps({"name": "OVERLAP", "subjects": ["devices.d1.telemetry"]}))
    assert apply(js_server, declared) == (
        1, "", "edgenats: error: stream OVERLAP: subjects overlap with an existing stream (10065)\n")


@pytest.mark.parametrize("text, error", [
    ("{", "FILE: not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('[{"subjects": ["a"]}]', "FILE: every stream config needs a name"),
    ('["A"]', "FILE: expected a stream config (a JSON object) or a list of them"),
    ('{"name": "a b"}', "FILE: stream name 'a b' can not contain '.', '*', '>' or white space"),
    ('{"name": "site.T"}', "FILE: stream name 'site.T' can not contain '.', '*', '>' or white space"),
    ('{"name": "A", "max_age": "1 day"}',
     "stream A: max_age: invalid duration '1 day': expected something like \"10s\", \"2m\" or \"1m30s\""),
    ('{"name": "A", "max_bytes": "lots"}',
     "stream A: max_bytes: invalid size 'lots': expected a number with an optional suffix like KB or MB"),
])
def test_apply_refuses_a_bad_file_before_connecting(tmp_path, text, error):
    declared = tmp_path / "streams.json"
    declared.write_text(text)
    done = run_cli("-s", "127.0.0.1:1", "stream", "apply", str(declared))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"edgenats: error: {error.replace('FILE', str(declared))}\n"


async def test_ls_and_info_show_the_streams(js_server):
    empty = run_cli("-s", js_server.url, "stream", "ls")
    assert (empty.returncode, empty.stdout) == (0, "No streams defined\n")
    client = await nats.connect(js_server.url)
    js = client.jetstream()
    await js.add_stream(name="TELEMETRY", subjects=["devices.*.telemetry", "site.>"])
    for body in (b"1", b"22"):
        await js.publish("devices.d1.telemetry", body)
    await client.close()
    assert run_cli("-s", js_server.url, "stream", "apply", "-", stdin=json.dumps(COMMANDS)).returncode == 0

    listed = run_cli("-s", js_server.url, "stream", "ls")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SUBJECTS", "MESSAGES", "BYTES"]
    assert lines[2].startswith("CMDS") and lines[2].split()[1:] == ["(mirror", "of", "COMMANDS)", "0", "0"]
    assert lines[3].split()[:4] == ["TELEMETRY", "devices.*.telemetry,", "site.>", "2"]

    shown = run_cli("-s", js_server.url, "stream", "info", "TELEMETRY")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert (info["config"]["name"], info["state"]["messages"]) == ("TELEMETRY", 2)
    assert not {"type", "total", "offset", "limit"} & set(info)
    missing = run_cli("-s", js_server.url, "stream", "info", "NOPE")
    assert (missing.returncode, missing.stderr) == (1, "edgenats: error: stream NOPE: stream not found (10059)\n")


def test_credentials_from_the_environment(server_kind, server_factory, tmp_path):
    config = 'authorization { users = [{user: ops, password: "p@ss:w/rd"}] }\n'
    secured = server_factory(server_kind, config, extra_args=["-js", "-sd", str(tmp_path / "store")])
    environment = os.environ | {"NATS_URL": secured.url, "NATS_USER": "ops", "NATS_PASSWORD": "p@ss:w/rd"}
    listed = run_cli("stream", "ls", env=environment)
    assert (listed.returncode, listed.stdout) == (0, "No streams defined\n"), listed.stderr
    refused = run_cli("stream", "ls", env=environment | {"NATS_PASSWORD": ""})
    assert refused.returncode == 1 and "authorization violation" in refused.stderr


def test_a_server_without_jetstream_is_named(server):
    done = run_cli("-s", server.url, "stream", "ls")
    assert (done.returncode, done.stderr) == (
        1, "edgenats: error: no JetStream answered on $JS.API.STREAM.LIST: is JetStream enabled for this account?\n")
