"""The Ansible roles without a VM: the playbook parses, ansible-lint's production profile passes, and the
edgenats role's config step runs for real against localhost: the rendered broker config is checked by
`edgenats-server -t` before it replaces the old one, a bad variable fails the play and leaves the old
config in place, and a second run changes nothing."""

from __future__ import annotations

import re
import subprocess

from ansible_play import ANSIBLE, BIN, recap, run


def test_site_playbook_passes_syntax_check():
    done = run(str(BIN / "ansible-playbook"), "--syntax-check", "-i", "inventory/example", "site.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile_is_clean():
    done = run(str(BIN / "ansible-lint"), "--offline", "--nocolor")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_default_is_documented():
    """Each variable in a role's defaults/main.yml has a comment above it (or shares one with its group)."""
    for defaults in sorted(ANSIBLE.glob("roles/*/defaults/main.yml")):
        lines = defaults.read_text().splitlines()
        role = defaults.parts[-3]
        for index, line in enumerate(lines):
            if re.match(r"^[a-z_]+:", line):
                assert line.startswith(role + "_"), f"{defaults}: {line!r} lacks the role prefix"
                above = index - 1
                while above >= 0 and lines[above] and not lines[above].startswith("#"):
                    above -= 1  # a group of related variables under one comment
                assert above >= 0 and lines[above].startswith("#"), f"{defaults}: {line!r} is undocumented"


def test_config_is_validated_installed_and_stable(config_play):
    first = config_play(edgenats_users=[{"user": "devices", "password": "pw"}], edgenats_max_payload="32KB")
    assert first.returncode == 0, first.stdout + first.stderr
    text = config_play.config.read_text()
    assert "Ansible managed" in text and 'listen: "0.0.0.0:4222"' in text and "max_payload: 32KB" in text
    assert '{user: "devices", password: "pw"}' in text and "leafnodes" not in text
    assert oct(config_play.config.stat().st_mode)[-3:] == "640"
    assert "RUNNING HANDLER [edgenats : Restart edgenats]" in first.stdout, "a new config restarts the broker"
    second = config_play(edgenats_users=[{"user": "devices", "password": "pw"}], edgenats_max_payload="32KB")
    assert "changed=0" in recap(second), second.stdout
    assert "RUNNING HANDLER" not in second.stdout, "an unchanged config leaves the broker running"


def test_bad_variable_fails_the_play_and_keeps_the_working_config(config_play):
    assert config_play().returncode == 0
    good = config_play.config.read_text()
    bad = config_play(edgenats_max_payload="lots")
    assert bad.returncode != 0
    assert "edgenats-server" in bad.stdout and "max_payload" in bad.stdout
    assert config_play.config.read_text() == good
    assert "RUNNING HANDLER" not in bad.stdout


def test_hub_link_with_credentials_renders_a_valid_leafnodes_block(config_play):
    done = config_play(edgenats_hub_url="nats-leaf://hub.example.com:7422", edgenats_hub_user="site-1",
                       edgenats_hub_password="p@ss:word", edgenats_token="device-token")
    assert done.returncode == 0, done.stdout + done.stderr
    text = config_play.config.read_text()
    assert 'url: "nats-leaf://site-1:p%40ss%3Aword@hub.example.com:7422"' in text
    assert 'token: "device-token"' in text and 'reconnect: "2s"' in text
    checked = subprocess.run([str(BIN / "edgenats-server"), "-t", "-c", str(config_play.config)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_a_monitoring_login_is_written_and_valid(config_play):
    done = config_play(edgenats_http_port=8222, edgenats_http_user="ops", edgenats_http_password="s3cret")
    assert done.returncode == 0, done.stdout + done.stderr
    text = config_play.config.read_text()
    assert 'http_user: "ops"' in text and 'http_password: "s3cret"' in text and "http_port: 8222" in text
