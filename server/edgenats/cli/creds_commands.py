"""`edgenats creds device` and `edgenats creds user`: credentials made offline, no server needed.

`creds device ID` makes a device's own broker user (device_credentials.py): printed on stdout, written to
`--out`, or kept in `--config-dir DIR` as DIR/ID.conf for the broker config to include, ending with a line
`changed` or `unchanged` so a tool such as Ansible can tell. A generated password is shown once (on stderr
when the entry itself goes to stdout); `--password-from-stdin` takes the operator's own instead.

`creds user NAME --account-seed FILE` mints a user JWT for operator mode (user_credentials.py) and writes
its `.creds` file (mode 0600) or prints it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgenats.cli.arguments import parse_duration
from edgenats.cli.device_credentials import (
    DeviceSubjects,
    check_device_id,
    hash_password,
    new_password,
    users_entry,
    write_include,
    write_private,
)
from edgenats.cli.errors import CommandError
from edgenats.cli.user_credentials import mint_user, read_account_seed


def add_creds_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `creds device` and `creds user`."""
    creds = subparsers.add_parser("creds", help="make credentials: a device's broker user, a user JWT")
    actions = creds.add_subparsers(dest="creds_command", metavar="KIND", required=True)

    device = actions.add_parser("device", help="a device's own user, allowed only the device app's subjects")
    device.add_argument("device_id", metavar="ID", help="the device id (letters, digits, - and _)")
    device.add_argument("--subjects-prefix", default="devices",
                        help="the app's subjects are <prefix>.<id>.* (devices)")
    device.add_argument("--commands-prefix", default="commands",
                        help="queued commands for the device are on <prefix>.<id> (commands)")
    device.add_argument("--service-name", default="edgedevice", help="the app's NATS service name (edgedevice)")
    device.add_argument("--commands-stream", help="the stream the app pulls its queued commands from, if any")
    device.add_argument("--password-from-stdin", action="store_true",
                        help="read the password from the first line of stdin instead of generating one")
    where = device.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="write the users-list entry to this file (mode 0600)")
    where.add_argument("--config-dir", type=Path,
                       help="keep DIR/ID.conf defining $device_ID for the broker config to include")
    device.set_defaults(func=run_device)

    user = actions.add_parser("user", help="a user JWT signed by an account key, as a .creds file")
    user.add_argument("name", metavar="NAME", help="the user's name in its JWT")
    user.add_argument("--account-seed", type=Path, required=True,
                      help="file holding the account's seed (SA...) or one of its signing keys'")
    user.add_argument("--issuer-account", metavar="ACCOUNT",
                      help="the account's public key (A...), when the seed is a signing key")
    user.add_argument("--pub", action="append", default=[], metavar="SUBJECT", help="allow publishing (repeat)")
    user.add_argument("--sub", action="append", default=[], metavar="SUBJECT", help="allow subscribing (repeat)")
    user.add_argument("--expires", type=parse_duration, help="valid for this long (e.g. 30d, 12h); default: no end")
    user.add_argument("--out", type=Path, help="write the .creds file here (mode 0600) instead of stdout")
    user.set_defaults(func=run_user)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password and whether it was generated here."""
    if not args.password_from_stdin:
        return new_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-from-stdin: the first line of stdin is empty")
    return password, False


def run_device(args: argparse.Namespace) -> int:
    try:
        check_device_id(args.device_id)
    except ValueError as error:
        raise CommandError(str(error)) from None
    device = DeviceSubjects(args.device_id, args.subjects_prefix, args.commands_prefix, args.service_name,
                            args.commands_stream)
    password, generated = _password(args)
    shown = f"password for device {args.device_id}: {password}"
    if args.config_dir is not None:
        try:
            written = write_include(args.config_dir, device, password)
        except OSError as error:
            raise CommandError(f"cannot write {args.config_dir}: {error}") from None
        if generated:
            print(shown)
        print("changed" if written else "unchanged")
        return 0
    entry = users_entry(device, hash_password(password))
    if args.out is None:
        print(entry)
        if generated:
            print(shown, file=sys.stderr)
        return 0
    try:
        write_private(args.out, entry + "\n", 0o600)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error}") from None
    if generated:
        print(shown)
    return 0


def run_user(args: argparse.Namespace) -> int:
    try:
        seed = read_account_seed(args.account_seed.read_text())
    except OSError as error:
        raise CommandError(f"cannot read {args.account_seed}: {error}") from None
    except ValueError as error:
        raise CommandError(f"{args.account_seed}: {error}") from None
    if args.issuer_account is not None and not args.issuer_account.startswith("A"):
        raise CommandError("--issuer-account takes an account public key (A...)")
    creds = mint_user(args.name, seed, issuer_account=args.issuer_account, publish=args.pub,
                      subscribe=args.sub, expires_in=args.expires)
    if args.out is None:
        sys.stdout.write(creds)
        return 0
    try:
        write_private(args.out, creds, 0o600)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error}") from None
    return 0
