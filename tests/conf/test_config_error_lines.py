"""A config file with several mistakes: every one is reported in one run, each at its file and line
(nats-server reports the same lines), nested blocks included, with no word doubled."""

from __future__ import annotations

import re
import subprocess

from servers import server_command

SEVERAL_MISTAKES = """port: "x"
max_payload: "abc"
authorization {
  users = [
    {user: a, pasword: b}
  ]
}
leafnodes {
  remotes = [ {url: 5} ]
}
foo: 1
"""


def _check(kind: str, tmp_path, text: str) -> str:
    config = tmp_path / "site.conf"
    config.write_text(text)
    done = subprocess.run(server_command(kind, 0, config, ["-t"]), cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_every_mistake_is_reported_at_its_line_as_nats_server_does(tmp_path):
    lines = {kind: {int(n) for n in re.findall(r"site\.conf:(\d+):", _check(kind, tmp_path, SEVERAL_MISTAKES))}
             for kind in ("nats-server", "edgenats")}

    assert lines["edgenats"] == lines["nats-server"] == {1, 2, 5, 9, 11}


def test_a_nested_mistake_names_its_field_and_line(tmp_path):
    output = _check("edgenats", tmp_path, SEVERAL_MISTAKES)

    assert "site.conf:5: authorization.users[0]: unknown field 'pasword'" in output
    assert "site.conf:9: leafnodes.remotes[0].url must be a string, got 5" in output


def test_a_permissions_mistake_names_the_path_once(tmp_path):
    output = _check("edgenats", tmp_path, "authorization {\n  users = [\n"
                                          "    {user: a, password: b, permissions: {publish: 5}}\n  ]\n}\n")

    assert output.strip().endswith(
        "site.conf:3: authorization.users[0].permissions.publish: expected a subject or an array of subjects, got 5")
    assert "permissions: permissions" not in output


def test_every_mistake_inside_one_block_is_reported_too(tmp_path):
    text = ("authorization {\n  users = [\n    {user: a, pasword: b}\n"
            "    {user: c, password: d, permissions: {publish: 5}}\n  ]\n  tokn: x\n}\n")

    output = _check("edgenats", tmp_path, text)

    assert "site.conf:3: authorization.users[0]: unknown field 'pasword'" in output
    assert "site.conf:4: authorization.users[1].permissions.publish: expected a subject" in output
    assert "site.conf:6: authorization: unknown field 'tokn'" in output
