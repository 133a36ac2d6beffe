"""`edgenats service install|uninstall` without systemd: `--dry-run` prints the plan and changes nothing,
`--root DIR` writes the files under a folder standing for /. The starter config it writes is one both
brokers accept and run (its client user logs in, JetStream stores in the data folder); what the broker
refuses is refused before anything is written. The systemd side runs in tests/qemu/test_service_vm.py."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import nats
import nats.errors
import pytest
from operator_cli import run_cli

BIN = Path(sys.executable).parent


def secret(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")
    return str(path)


def test_dry_run_prints_every_file_and_command_and_changes_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    done = run_cli("service", "install", "--dry-run", "--root", str(root), "--hub", "nats-leaf://hub.example:7422",
                   "--hub-user", "site1", "--hub-password-file", secret(tmp_path, "hub", "leaf-secret"),
                   "--jetstream-domain", "site1", "--server-name", "pi-1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "would run useradd --system --user-group --no-create-home --home-dir /var/lib/edgenats" in out
    assert "would create folder /var/lib/edgenats (mode 0750, edgenats:edgenats)" in out
    assert "would write /etc/edgenats/edgenats.conf (mode 0640, root:edgenats):" in out
    assert '{url: "nats-leaf://site1:********@hub.example:7422"}' in out and "leaf-secret" not in out
    assert 'domain: "site1"' in out and 'server_name: "pi-1"' in out
    assert "would write /etc/systemd/system/edgenats.service (mode 0644, root:root):" in out
    assert f"ExecStart={BIN / 'edgenats-server'} -c /etc/edgenats/edgenats.conf" in out
    assert out.rstrip().endswith("would run systemctl daemon-reload\nwould run systemctl enable --now edgenats.service")
    assert list(root.iterdir()) == []


@pytest.fixture
def installed(tmp_path):
    """`service install --root` with a client user, its data folder under tmp_path; the root folder."""
    root = tmp_path / "root"
    data = tmp_path / "data"
    done = run_cli("service", "install", "--root", str(root), "--data-dir", str(data), "--port", "14222",
                   "--client-user", "devices", "--client-password-file", secret(tmp_path, "pw", "dev-secret"))
    assert done.returncode == 0, done.stderr
    assert "left to the target system (--root): systemctl enable --now edgenats.service" in done.stdout
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_root_writes_a_starter_config_both_brokers_run(installed, tmp_path, server_kind, server_factory):
    config = installed / "etc" / "edgenats" / "edgenats.conf"
    unit = installed / "etc" / "systemd" / "system" / "edgenats.service"
    assert (mode(installed / "etc" / "edgenats"), mode(config), mode(unit)) == (0o750, 0o640, 0o644)
    text = config.read_text()
    assert 'listen: "0.0.0.0:14222"' in text and "dev-secret" not in text and '"$2a$11$' in text
    assert f"ReadWritePaths={tmp_path / 'data'}" in unit.read_text()
    # The same file, on 127.0.0.1 and a free port (the flags override `listen`).
    server = server_factory(server_kind, text)
    with pytest.raises(nats.errors.Error):
        await nats.connect(server.url.replace("://", "://devices:wrong@"), allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=2)
    client = await nats.connect(server.url.replace("://", "://devices:dev-secret@"), allow_reconnect=False)
    try:
        js = client.jetstream()
        await js.add_stream(name="TELEMETRY", subjects=["devices.>"])
        assert (await js.publish("devices.pi.t", b"21.5")).seq == 1
    finally:
        await client.close()
    assert (tmp_path / "data" / "jetstream").is_dir(), "JetStream stores in the data folder"


def test_an_existing_config_is_kept_unless_force_and_uninstall_keeps_it(installed, tmp_path):
    config = installed / "etc" / "edgenats" / "edgenats.conf"
    config.write_text(config.read_text() + "# the operator's edit\n")
    again = run_cli("service", "install", "--root", str(installed), "--data-dir", str(tmp_path / "data"))
    assert again.returncode == 0, again.stderr
    assert "kept /etc/edgenats/edgenats.conf as it is (--force replaces it)" in again.stdout
    assert config.read_text().endswith("# the operator's edit\n")
    forced = run_cli("service", "install", "--root", str(installed), "--data-dir", str(tmp_path / "data"), "--force")
    assert forced.returncode == 0 and "the operator's edit" not in config.read_text()
    assert "authorization" not in config.read_text(), "no --client-user: no users block"
    gone = run_cli("service", "uninstall", "--root", str(installed))
    assert gone.returncode == 0, gone.stderr
    assert not (installed / "etc" / "systemd" / "system" / "edgenats.service").exists() and config.exists()
    assert "kept the config, the data and the service user" in gone.stdout


@pytest.mark.parametrize(("flags", "message"), [
    (["--jetstream-domain", "a.b"],
     "the broker refuses the starter config:\nedgenats-server: the starter config:10: "
     "jetstream.domain must be a name without '.', '*', '>' or spaces, got 'a.b'"),
    (["--hub-user", "site1"], "--hub-user and --hub-password-file need --hub URL"),
    (["--hub", "nats-leaf://u:p@hub:7422"], "give the hub's credentials with --hub-user and --hub-password-file"),
    (["--hub", "hub:7422"], "--hub 'hub:7422' is not a leaf node URL such as nats-leaf://hub.example.com:7422"),
    (["--client-user", "devices"], "--client-user and --client-password-file go together"),
])
def test_refusals_write_nothing(tmp_path, flags, message):
    root = tmp_path / "root"
    done = run_cli("service", "install", "--root", str(root), *flags)
    assert done.returncode == 1 and done.stderr.startswith(f"edgenats: error: {message}"), done.stderr
    assert not root.exists()
