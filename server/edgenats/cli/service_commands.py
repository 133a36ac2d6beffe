"""`edgenats service install|uninstall|status`: a single node without Ansible. `install` makes the
service user and folders, writes a starter config (service_config.py, checked by the broker first; an
existing one is kept unless --force) and the systemd unit (service_unit.py) for the `edgenats-server`
beside the running Python, then enables and starts it; `uninstall` stops, disables and removes the unit
and keeps config and data; `status` is systemctl's.

Every change is a step of a plan: `--dry-run` prints the plan, `--root DIR` writes its files under DIR
(a folder standing for /, e.g. an image being built) and leaves the user, owners and systemctl to the
system DIR becomes.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edgenats.cli.errors import CommandError
from edgenats.cli.service_config import StarterConfig, client_login, hub_link
from edgenats.cli.service_unit import UnitSettings, render_unit

SERVICE = "edgenats"
UNIT_DIR = PurePosixPath("/etc/systemd/system")
UNIT_FILE = UNIT_DIR / f"{SERVICE}.service"
CONFIG_NAME = "edgenats.conf"


@dataclass(frozen=True)
class Folder:
    path: PurePosixPath
    mode: int
    owner: str
    group: str

    def describe(self) -> str:
        return f"create folder {self.path} (mode {self.mode:04o}, {self.owner}:{self.group})"


@dataclass(frozen=True)
class File:
    path: PurePosixPath
    text: str
    mode: int
    owner: str
    group: str
    shown: str  # the text as printed (secrets masked)

    def describe(self) -> str:
        return f"write {self.path} (mode {self.mode:04o}, {self.owner}:{self.group}):\n{self.shown}"


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]

    def describe(self) -> str:
        return f"run {shlex.join(self.argv)}"


@dataclass(frozen=True)
class Removal:
    path: PurePosixPath

    def describe(self) -> str:
        return f"remove {self.path}"


Step = Folder | File | Removal | Command


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


def add_service_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `service install`, `service uninstall` and `service status`."""
    service = subparsers.add_parser("service", help="run this environment's broker as a systemd service")
    actions = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)

    install = actions.add_parser("install", help="service user, folders, starter config and systemd unit; start it")
    install.add_argument("--config-dir", type=absolute, default=PurePosixPath("/etc/edgenats"),
                         help="where edgenats.conf goes (/etc/edgenats)")
    install.add_argument("--data-dir", type=absolute, default=PurePosixPath("/var/lib/edgenats"),
                         help="the service's folder and JetStream store (/var/lib/edgenats)")
    install.add_argument("--user", dest="service_user", default="edgenats",
                         help="the system user the broker runs as, created if missing (edgenats)")
    install.add_argument("--port", type=port_number, default=4222, help="client port (4222)")
    install.add_argument("--server-name", default=socket.gethostname(),
                         help="the name clients and the hub see (this host's name)")
    install.add_argument("--hub", metavar="URL", help="link as a leaf node to this hub, e.g. nats-leaf://hub:7422")
    install.add_argument("--hub-user", metavar="USER", help="the hub's leaf user")
    install.add_argument("--hub-password-file", type=Path, metavar="FILE", help="file holding the hub's leaf password")
    install.add_argument("--jetstream-domain", metavar="DOMAIN", help="this node's JetStream domain, e.g. the site")
    install.add_argument("--client-user", metavar="USER",
                         help="the one client user (without it clients need no login)")
    install.add_argument("--client-password-file", type=Path, metavar="FILE",
                         help="file holding the client user's password (stored as a bcrypt hash)")
    install.add_argument("--force", action="store_true", help="replace an existing edgenats.conf")
    add_target_arguments(install)
    install.set_defaults(func=run_install)

    uninstall = actions.add_parser("uninstall", help="stop, disable and remove the unit; keep config and data")
    add_target_arguments(uninstall)
    uninstall.set_defaults(func=run_uninstall)

    status = actions.add_parser("status", help="systemctl status of the service")
    status.set_defaults(func=run_status)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print what would be written and run; change nothing")
    parser.add_argument("--root", type=Path, metavar="DIR",
                        help="write the files under DIR (standing for /); no user, owners or systemctl")


def absolute(text: str) -> PurePosixPath:
    path = PurePosixPath(text)
    if not path.is_absolute():
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute path")
    return path


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def server_binary() -> Path:
    """The `edgenats-server` of the running Python environment (its bin folder, symlinks kept)."""
    binary = Path(sys.executable).parent / "edgenats-server"
    if not binary.exists():
        raise CommandError(f"no edgenats-server beside {sys.executable}: install edgenats into a virtualenv "
                           "(python3 -m venv /opt/edgenats && /opt/edgenats/bin/pip install edgenats) and run "
                           "that environment's edgenats")
    return binary


def check_config(binary: Path, text: str, config_dir: Path) -> None:
    """The broker's own check (`edgenats-server -t`) of the config, read beside where it goes."""
    check_dir = config_dir if config_dir.is_dir() else None
    with tempfile.NamedTemporaryFile("w", dir=check_dir, prefix=".edgenats.conf.", suffix=".check") as copy:
        copy.write(text)
        copy.flush()
        done = subprocess.run([str(binary), "-t", "-c", copy.name], capture_output=True, text=True)
    if done.returncode != 0:
        problems = done.stderr.strip().replace(copy.name, "the starter config")
        raise CommandError(f"the broker refuses the starter config:\n{problems}")


def on_target(root: Path | None, path: PurePosixPath) -> Path:
    return Path(root, *path.parts[1:]) if root else Path(path)


def install_plan(args: argparse.Namespace, binary: Path) -> Plan:
    hub = hub_link(args.hub, args.hub_user, args.hub_password_file)
    client_user, password_hash = client_login(args.client_user, args.client_password_file)
    config = StarterConfig(server_name=args.server_name, port=args.port, data_dir=args.data_dir, hub=hub,
                           jetstream_domain=args.jetstream_domain, client_user=client_user,
                           client_password_hash=password_hash)
    config_file = args.config_dir / CONFIG_NAME
    check_config(binary, config.render(), on_target(args.root, args.config_dir))
    user = args.service_user
    unit = render_unit(UnitSettings(bin_dir=PurePosixPath(binary.parent), config_file=config_file,
                                    data_dir=args.data_dir, user=user, group=user))
    steps: list[Step] = []
    notes: list[str] = []
    if not user_exists(user, args.root):
        steps.append(Command(("useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                              str(args.data_dir), "--shell", "/usr/sbin/nologin", user)))
    steps += [Folder(args.config_dir, 0o750, "root", user), Folder(args.data_dir, 0o750, user, user)]
    if on_target(args.root, config_file).exists() and not args.force:
        notes.append(f"kept {config_file} as it is (--force replaces it)")
    else:
        steps.append(File(config_file, config.render(), 0o640, "root", user, config.render(masked=True)))
    steps += [File(UNIT_FILE, unit, 0o644, "root", "root", unit),
              Command(("systemctl", "daemon-reload")),
              Command(("systemctl", "enable", "--now", f"{SERVICE}.service"))]
    return Plan(tuple(steps), tuple(notes))


def user_exists(name: str, root: Path | None) -> bool:
    """Whether the system (or the one under --root) has the user."""
    if root is not None:
        passwd = root / "etc" / "passwd"
        return passwd.exists() and any(line.split(":")[0] == name for line in passwd.read_text().splitlines())
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def uninstall_plan() -> Plan:
    return Plan((Command(("systemctl", "disable", "--now", f"{SERVICE}.service")),
                 Removal(UNIT_FILE),
                 Command(("systemctl", "daemon-reload"))),
                ("kept the config, the data and the service user",))


def carry_out(plan: Plan, *, dry_run: bool, root: Path | None) -> None:
    """Print (--dry-run) or apply each step; under --root only the files and folders are made."""
    for step in plan.steps:
        if dry_run:
            print(f"would {step.describe()}")
        elif root is not None and isinstance(step, Command):
            print(f"left to the target system (--root): {shlex.join(step.argv)}")
        else:
            apply(step, root)
    for note in plan.notes:
        print(note)


def apply(step: Step, root: Path | None) -> None:
    if isinstance(step, Command):
        argv = list(step.argv)
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            hint = f" (see journalctl -u {SERVICE})" if argv[0] == "systemctl" else ""
            raise CommandError(f"{shlex.join(argv)} failed{hint}: {(done.stderr or done.stdout).strip()}")
        print(f"ran {shlex.join(argv)}")
        return
    path = on_target(root, step.path)
    if isinstance(step, Removal):
        path.unlink(missing_ok=True)
        print(f"removed {path}")
        return
    if isinstance(step, Folder):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(step.mode)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.new")
        temporary.unlink(missing_ok=True)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, step.mode), "w") as file:
            file.write(step.text)
        temporary.replace(path)
    if root is None:
        os.chown(path, pwd.getpwnam(step.owner).pw_uid, pwd.getpwnam(step.group).pw_gid)
        print(f"{'made' if isinstance(step, Folder) else 'wrote'} {step.path} ({step.owner}:{step.group})")
    else:
        print(f"{'made' if isinstance(step, Folder) else 'wrote'} {path} "
              f"(owner {step.owner}:{step.group} left to the target system)")


def require_root(args: argparse.Namespace) -> None:
    if not args.dry_run and args.root is None and os.geteuid() != 0:
        raise CommandError("run as root (sudo), or see what it would do with --dry-run")


def run_install(args: argparse.Namespace) -> int:
    require_root(args)
    binary = server_binary()
    plan = install_plan(args, binary)
    carry_out(plan, dry_run=args.dry_run, root=args.root)
    if not args.dry_run and args.root is None:
        print(f"{SERVICE} runs: clients connect to port {args.port}; "
              f"`systemctl status {SERVICE}`, `journalctl -u {SERVICE}`")
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    require_root(args)
    carry_out(uninstall_plan(), dry_run=args.dry_run, root=args.root)
    return 0


def run_status(args: argparse.Namespace) -> int:
    return subprocess.run(["systemctl", "status", "--no-pager", f"{SERVICE}.service"]).returncode
