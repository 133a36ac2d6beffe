"""The systemd unit `edgenats service install` writes: the broker of one Python environment as a
hardened Type=notify service with lame-duck stops.

Kept in step with the Ansible role's unit (ansible/roles/edgenats/templates/edgenats.service.j2):
tests/ansible/test_service_unit_in_step.py renders both with the same settings and requires the same
[Service] directives in the same order, so a change to one must be made to the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class UnitSettings:
    """What the unit depends on; the defaults are the Ansible role's (defaults/main.yml)."""

    bin_dir: PurePosixPath  # the folder holding edgenats-server (a virtualenv's bin)
    config_file: PurePosixPath
    data_dir: PurePosixPath
    user: str = "edgenats"
    group: str = "edgenats"
    watchdog_sec: int = 30
    lame_duck_duration: str = "30s"
    restart_sec: int = 2
    memory_max: str = "128M"
    limit_nofile: int = 4096


def render_unit(settings: UnitSettings) -> str:
    server = settings.bin_dir / "edgenats-server"
    return f"""\
# Written by `edgenats service install`; the Ansible role's unit
# (ansible/roles/edgenats/templates/edgenats.service.j2) has the same [Service] directives.
[Unit]
Description=edgenats NATS-compatible message broker
After=network-online.target
Wants=network-online.target

[Service]
# READY=1 once every listener accepts; watchdog pings from the event loop (a hung loop is restarted).
Type=notify
NotifyAccess=main
WatchdogSec={settings.watchdog_sec}
TimeoutAbortSec=10s
User={settings.user}
Group={settings.group}
WorkingDirectory={settings.data_dir}
ExecStartPre={server} -t -c {settings.config_file}
ExecStart={server} -c {settings.config_file}
# SIGHUP re-reads the config and keeps the clients.
ExecReload=/bin/kill -HUP $MAINPID
# Stops are lame-duck stops (clients told, then closed one by one over lame_duck_duration); systemd
# waits that long and 30 s more.
KillSignal=SIGUSR2
TimeoutStopSec={settings.lame_duck_duration} 30s
Restart=always
RestartSec={settings.restart_sec}
MemoryMax={settings.memory_max}
LimitNOFILE={settings.limit_nofile}
Environment=PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

# Hardening: the broker needs the network and its data folder, nothing else.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ReadWritePaths={settings.data_dir}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""
