"""`edgenats pub`, `sub`, `request` and `reply`: the core NATS client commands, on nats-py.

Messages go to stdout (so they can be piped); progress lines ("Subscribing on ...") go to stderr. A
subscription is announced only after the server confirmed it, so a script may publish right after.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from edgenats.cli.arguments import parse_duration, parse_header, positive_int
from edgenats.cli.connection_options import ConnectionSettings, connection_arguments_parent
from edgenats.cli.errors import CommandError
from edgenats.protocol.framing import go_quote

CLIENT_NAME = "edgenats-cli"
CONNECT_TIMEOUT_S = 2.0
DEFAULT_REPLY_QUEUE = "NATS-RPLY-22"
_COUNT_TEMPLATE = re.compile(r"\{\{\s*\.?Count\s*\}\}")
_PERMISSION_REFUSAL = re.compile(
    r"permissions violation for (?P<verb>publish|subscription)(?P<reply> with reply)?", re.IGNORECASE)


def add_client_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register pub, sub, request and reply."""
    connection = connection_arguments_parent()

    pub = subparsers.add_parser(
        "pub", parents=[connection], help="publish a message",
        description="Publish BODY to SUBJECT; {{Count}} in BODY is the message number.",
    )
    pub.add_argument("subject")
    pub.add_argument("body", nargs="?", default="")
    pub.add_argument("--count", type=positive_int, default=1, help="publish this many messages")
    pub.add_argument("--header", "-H", type=parse_header, action="append", default=[], metavar="K:V")
    pub.add_argument("--reply", default="", help="reply subject to send with the message")
    pub.set_defaults(func=lambda args: _run(publish(args)))

    sub = subparsers.add_parser("sub", parents=[connection], help="subscribe and print messages")
    sub.add_argument("subject")
    sub.add_argument("--queue", default="", help="join this queue group")
    sub.add_argument("--count", type=positive_int, default=None, help="exit after this many messages")
    sub.add_argument("--raw", action="store_true", help="print only message bodies")
    sub.set_defaults(func=lambda args: _run(subscribe(args)))

    request = subparsers.add_parser("request", aliases=["req"], parents=[connection],
                                    help="send a request and print the reply")
    request.add_argument("subject")
    request.add_argument("body", nargs="?", default="")
    request.add_argument("--timeout", type=parse_duration, default=2.0,
                         help="wait this long for a reply (2s)")
    request.add_argument("--header", "-H", type=parse_header, action="append", default=[], metavar="K:V")
    request.add_argument("--raw", action="store_true", help="print only the reply body")
    request.set_defaults(func=lambda args: _run(send_request(args)))

    reply = subparsers.add_parser("reply", parents=[connection], help="answer requests on a subject")
    reply.add_argument("subject")
    reply.add_argument("body", nargs="?", default="")
    reply.add_argument("--echo", action="store_true", help="answer with the request's own body")
    reply.add_argument("--queue", default=DEFAULT_REPLY_QUEUE,
                       help=f"queue group (default {DEFAULT_REPLY_QUEUE})")
    reply.add_argument("--count", type=positive_int, default=None, help="exit after answering this many")
    reply.add_argument("--header", "-H", type=parse_header, action="append", default=[], metavar="K:V")
    reply.add_argument("--raw", action="store_true", help="print only request bodies")
    reply.set_defaults(func=lambda args: _run(serve_replies(args)))


def _run(command: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(command)


def status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def publish(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        headers = dict(args.header) or None
        total_bytes = 0
        for number in range(1, args.count + 1):
            body = _COUNT_TEMPLATE.sub(str(number), args.body).encode()
            total_bytes += len(body)
            await client.publish(args.subject, body, reply=args.reply, headers=headers)
        await _flush(client)
    if args.count == 1:
        status(f'Published {total_bytes} bytes to "{args.subject}"')
    else:
        status(f'Published {args.count} messages ({total_bytes} bytes) to "{args.subject}"')
    return 0


async def subscribe(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        received = 0
        finished = asyncio.Event()

        async def print_next(msg: Msg) -> None:
            nonlocal received
            received += 1
            write_message(received, msg, args.raw)
            if args.count is not None and received >= args.count:
                finished.set()

        subscription = await client.subscribe(args.subject, queue=args.queue, cb=print_next)
        if args.count is not None:
            await subscription.unsubscribe(limit=args.count)
        await _flush(client)
        queue_note = f" in queue group {args.queue}" if args.queue else ""
        status(f"Subscribing on {args.subject}{queue_note}")
        await _until(finished, client)
    return 0


async def send_request(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        status(f'Sending request on "{args.subject}"')
        started = time.perf_counter()
        try:
            reply = await client.request(args.subject, args.body.encode(), timeout=args.timeout,
                                         headers=dict(args.header) or None)
        except nats.errors.NoRespondersError:
            client.raise_refusal()
            raise CommandError(f'no responders available for request on "{args.subject}"') from None
        except nats.errors.TimeoutError:
            client.raise_refusal()
            raise CommandError(
                f'no reply to request on "{args.subject}" within {args.timeout:g}s'
            ) from None
        rtt_ms = (time.perf_counter() - started) * 1000
    status(f"Received with rtt {rtt_ms:.3f}ms")
    _write_bytes(reply.data + b"\n" if args.raw else _headers_block(reply) + reply.data + b"\n")
    return 0


async def serve_replies(args: argparse.Namespace) -> int:
    async with connected_client(args) as client:
        answered = 0
        finished = asyncio.Event()
        headers = dict(args.header) or None

        async def answer(msg: Msg) -> None:
            nonlocal answered
            if args.count is not None and answered >= args.count:
                return
            answered += 1
            write_message(answered, msg, args.raw)
            if msg.reply:
                answer_body = msg.data if args.echo else args.body.encode()
                await client.publish(msg.reply, answer_body, headers=headers)
            else:
                status(f"[#{answered}] has no reply subject: not answered")
            if args.count is not None and answered >= args.count:
                await _flush(client)
                finished.set()

        await client.subscribe(args.subject, queue=args.queue, cb=answer)
        await _flush(client)
        status(f'Listening on "{args.subject}" in queue group {args.queue}')
        await _until(finished, client)
    return 0


def write_message(number: int, msg: Msg, raw: bool) -> None:
    if raw:
        _write_bytes(msg.data + b"\n")
        return
    reply_note = f' with reply "{msg.reply}"' if msg.reply else ""
    title = f'[#{number}] Received on "{msg.subject}"{reply_note}\n'.encode()
    _write_bytes(title + _headers_block(msg) + msg.data + b"\n\n")


def _headers_block(msg: Msg) -> bytes:
    if not msg.headers:
        return b""
    return "".join(f"{key}: {value}\n" for key, value in msg.headers.items()).encode() + b"\n"


def _write_bytes(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


class CommandClient(Client):
    """A nats-py client that keeps what the server refused without closing the connection (permission
    violations), so the command fails on it instead of reporting success."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.errors: list[BaseException] = []
        self._subject: str = getattr(args, "subject", "")
        self._reply: str = getattr(args, "reply", "")

    async def remember(self, error: BaseException) -> None:
        self.errors.append(error)

    def raise_refusal(self) -> None:
        """Fail with the server's first permission refusal in its own words (nats-py hands it over in lower
        case, so the command's subject and reply are put back as given)."""
        for error in self.errors:
            refusal = _PERMISSION_REFUSAL.search(str(error))
            if refusal is None:
                continue
            if refusal["reply"]:
                raise CommandError(f"Permissions Violation for Publish with Reply of {go_quote(self._reply)}")
            verb = "Publish" if refusal["verb"] == "publish" else "Subscription"
            raise CommandError(f"Permissions Violation for {verb} to {go_quote(self._subject)}")


async def _flush(client: CommandClient) -> None:
    """PING round trips until everything sent before was processed and any refusal of it has arrived.
    Two: nats-py writes a PING at once but queues other commands for its flusher task, so the first
    PING can overtake a SUB; by the time its PONG is back the queue went out, and the second follows it."""
    try:
        for _ in range(2):
            await client.flush(timeout=CONNECT_TIMEOUT_S)
    except nats.errors.TimeoutError:
        raise CommandError("the server did not answer PING within 2s") from None
    client.raise_refusal()


async def _until(finished: asyncio.Event, client: CommandClient) -> None:
    """Wait for `finished`, or fail if the connection closes first (the server went away) or the server
    refuses something (a subscription's permission taken away by a reload)."""
    while not finished.is_set():
        client.raise_refusal()
        if client.is_closed:
            reason = f": {describe_error(client.last_error)}" if client.last_error else ""
            raise CommandError(f"connection closed by the server{reason}")
        try:
            await asyncio.wait_for(finished.wait(), timeout=0.2)
        except TimeoutError:
            continue


@asynccontextmanager
async def connected_client(args: argparse.Namespace) -> AsyncIterator[CommandClient]:
    """A nats-py connection with one quick attempt per server; failures, a subject or payload the client
    library refuses, and the server's refusals become one-line CommandErrors."""
    settings = ConnectionSettings.from_args(args)
    try:
        tls = settings.tls_context()
    except (ssl.SSLError, OSError) as error:
        raise CommandError(f"cannot use the TLS files: {error}") from None
    client = CommandClient(args)
    try:
        await client.connect(
            servers=settings.urls, user=settings.user, password=settings.password, token=settings.token,
            user_credentials=settings.creds, tls=tls,
            name=CLIENT_NAME, connect_timeout=CONNECT_TIMEOUT_S, allow_reconnect=False,
            max_reconnect_attempts=1, reconnect_time_wait=0.05, error_cb=client.remember,
        )
    except Exception as error:
        errors = client.errors
        cause = errors[-1] if isinstance(error, nats.errors.NoServersError) and errors else error
        raise CommandError(f"cannot connect to {settings.display_url}: {describe_error(cause)}") from None
    try:
        yield client
        client.raise_refusal()
    except nats.errors.BadSubjectError:
        raise CommandError(f"invalid subject {getattr(args, 'subject', '')!r}") from None
    except nats.errors.MaxPayloadError:
        raise CommandError(
            f"the message is larger than the server's max_payload ({client.max_payload} bytes)") from None
    finally:
        if not client.is_closed:
            await client.close()


def describe_error(error: BaseException) -> str:
    """One human line for the errors nats-py raises or reports while connecting."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({error.verify_message}): give its CA with --tlsca"
    if isinstance(error, socket.gaierror):
        return f"unknown host ({error.strerror})"
    if isinstance(error, asyncio.TimeoutError | nats.errors.TimeoutError):
        return "timed out"
    if isinstance(error, nats.errors.AuthorizationError) or "authorization violation" in str(error).lower():
        return "authorization violation (check --user/--password/--token)"
    text = str(error).removeprefix("nats: ").strip("'") or type(error).__name__
    return text
