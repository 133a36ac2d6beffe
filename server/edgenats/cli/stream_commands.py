"""`edgenats stream apply`, `stream ls` and `stream info`: JetStream streams through the `$JS.API`
requests any NATS server answers (edgenats or nats-server), on nats-py.

`apply FILE` makes the streams a file describes true (stream_config.py reads it): a missing stream is
created, one that differs in a field the file gives is updated, any other is left alone; it prints one
line per stream ending in `created`, `updated (<fields>)` or `unchanged`, so a tool such as Ansible can
tell whether it changed something. Streams the file does not name are never touched.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import nats.errors
from nats.aio.client import Client

from edgenats.bench.report import render_table
from edgenats.cli.arguments import parse_duration
from edgenats.cli.client_commands import _run, connected_client
from edgenats.cli.connection_options import connection_arguments_parent
from edgenats.cli.errors import CommandError
from edgenats.cli.stream_config import changed_fields, differing_fields, load_configs

API = "$JS.API"
# Answer fields that describe the request, not the stream (nats-server adds the paging ones).
NOT_THE_STREAM = frozenset({"type", "total", "offset", "limit"})
STREAM_NOT_FOUND = 10059


def add_stream_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `stream apply`, `stream ls` and `stream info`."""
    connection = connection_arguments_parent()
    timeout = argparse.ArgumentParser(add_help=False)
    timeout.add_argument("--timeout", type=parse_duration, default=5.0,
                         help="wait this long for each JetStream answer (5s)")
    stream = subparsers.add_parser("stream", help="JetStream streams: apply a config, list, show")
    actions = stream.add_subparsers(dest="stream_command", metavar="ACTION", required=True)

    apply = actions.add_parser(
        "apply", parents=[connection, timeout], help="create or update streams from a JSON file",
        description="Create the streams FILE describes, or update those that differ in a field it gives "
                    "(other fields and other streams are left alone). FILE holds a StreamConfig or a list "
                    "of them; '-' reads standard input.")
    apply.add_argument("file", metavar="FILE")
    apply.set_defaults(func=lambda args: _run(apply_streams(args)))

    listing = actions.add_parser("ls", parents=[connection, timeout], help="list the streams")
    listing.set_defaults(func=lambda args: _run(list_streams(args)))

    info = actions.add_parser("info", parents=[connection, timeout], help="show a stream's config and state (JSON)")
    info.add_argument("name")
    info.set_defaults(func=lambda args: _run(show_stream(args)))


class ApiRefusal(CommandError):
    """A JetStream API answer carrying an error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('description', 'unknown error')} ({error.get('err_code', error.get('code'))})")
        self.err_code = error.get("err_code")


async def api_request(client: Client, subject: str, body: dict | None, timeout: float) -> dict[str, Any]:
    """One `$JS.API` request; its answer, or ApiRefusal / CommandError."""
    try:
        reply = await client.request(f"{API}.{subject}", json.dumps(body).encode() if body is not None else b"",
                                     timeout=timeout)
    except nats.errors.NoRespondersError:
        raise CommandError(f"no JetStream answered on {API}.{subject}: is JetStream enabled for this account?"
                           ) from None
    except nats.errors.TimeoutError:
        raise CommandError(f"no answer on {API}.{subject} within {timeout:g}s") from None
    answer = json.loads(reply.data)
    if "error" in answer:
        raise ApiRefusal(answer["error"])
    return answer


async def apply_streams(args: argparse.Namespace) -> int:
    if args.file == "-":
        configs = load_configs(sys.stdin.read(), "standard input")
    else:
        try:
            with open(args.file, encoding="utf-8") as file:
                configs = load_configs(file.read(), args.file)
        except OSError as error:
            raise CommandError(f"cannot read {args.file}: {error.strerror}") from None
    async with connected_client(args) as client:
        for config in configs:
            try:
                outcome = await apply_stream(client, config, args.timeout)
            except ApiRefusal as refusal:
                raise CommandError(f"stream {config['name']}: {refusal}") from None
            print(f"Stream {config['name']} {outcome}", flush=True)
    return 0


async def apply_stream(client: Client, wanted: dict[str, Any], timeout: float) -> str:
    """Make one stream as `wanted` says; which of created / updated (<fields>) / unchanged it was."""
    name = wanted["name"]
    try:
        held = (await api_request(client, f"STREAM.INFO.{name}", None, timeout))["config"]
    except ApiRefusal as refusal:
        if refusal.err_code != STREAM_NOT_FOUND:
            raise
        await api_request(client, f"STREAM.CREATE.{name}", wanted, timeout)
        return "created"
    if not differing_fields(wanted, held):
        return "unchanged"
    # The server echoes the config it keeps: a value it normalises (0 for an unset limit is shown as
    # -1) differs in the file yet changes nothing, and is reported as such.
    updated = (await api_request(client, f"STREAM.UPDATE.{name}", held | wanted, timeout))["config"]
    changed = changed_fields(held, updated)
    return f"updated ({', '.join(changed)})" if changed else "unchanged"


async def list_streams(args: argparse.Namespace) -> int:
    streams: list[dict[str, Any]] = []
    async with connected_client(args) as client:
        while True:
            page = await api_request(client, "STREAM.LIST", {"offset": len(streams)}, args.timeout)
            streams += page.get("streams") or []
            if not page.get("streams") or len(streams) >= page["total"]:
                break
    if not streams:
        print("No streams defined")
        return 0
    rows = [[info["config"]["name"], _captures(info["config"]), str(info["state"]["messages"]),
             str(info["state"]["bytes"])] for info in sorted(streams, key=lambda info: info["config"]["name"])]
    print(render_table(["NAME", "SUBJECTS", "MESSAGES", "BYTES"], rows))
    return 0


def _captures(config: dict[str, Any]) -> str:
    """What fills the stream: its subjects, or the stream it mirrors, or its sources."""
    if config.get("mirror"):
        return f"(mirror of {config['mirror']['name']})"
    if config.get("sources"):
        return f"(sources {', '.join(source['name'] for source in config['sources'])})"
    return ", ".join(config.get("subjects") or [])


async def show_stream(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        try:
            answer = await api_request(client, f"STREAM.INFO.{args.name}", None, args.timeout)
        except ApiRefusal as refusal:
            raise CommandError(f"stream {args.name}: {refusal}") from None
    print(json.dumps({key: value for key, value in answer.items() if key not in NOT_THE_STREAM}, indent=2))
    return 0
