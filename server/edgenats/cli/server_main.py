"""`edgenats-server`: nats-server's command line for what edgenats implements.

Flags override the config file. nats-server flags that edgenats does not implement are refused by
name rather than ignored.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from edgenats import NATS_COMPAT_VERSION, __version__
from edgenats.tls_runtime import import_asyncio_without_ssl

PROGRAM = "edgenats-server"
# The cyclic collector's young generation is collected after this many more tracked objects are made than
# freed, instead of Python's 700: a publish in flight (a client keeps up to 4000 waiting for their PubAck)
# holds a few such objects until it is acked, so at 700 each was scanned and promoted several times.
# js-pub at 1 KiB spent 159 ms in the collector over 600,000 publishes with 700, 7 ms with this.
YOUNG_GENERATION_THRESHOLD = 20_000

# nats-server flags that exist there but not here: refused with a reason instead of "unrecognized".
_UNSUPPORTED_FLAGS = {
    "--cluster": "clustering", "--cluster_name": "clustering", "--routes": "clustering",
    "--cluster_advertise": "clustering", "--no_advertise": "clustering",
    "-ms": "HTTPS monitoring", "--https_port": "HTTPS monitoring",
    "--ports_file_dir": "ports files",
    "-s": "syslog", "--syslog": "syslog", "-r": "remote syslog", "--remote_syslog": "remote syslog",
    "--log_size_limit": "log rotation", "--max_traced_msg_len": "trace limits",
    "--client_advertise": "client advertise",
}


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, the terminal's width found as shutil.get_terminal_size finds it: argparse asks
    shutil itself, which loads bz2 and lzma (0.6 MB) into every broker for a help text seldom printed."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
            except (AttributeError, ValueError, OSError):
                columns = 0
        super().__init__(prog, width=(columns or 80) - 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        formatter_class=_HelpFormatter,
        description="A NATS-compatible message broker for edge nodes (nats-server flags).",
    )
    server = parser.add_argument_group("Server Options")
    server.add_argument("-a", "--addr", "--net", dest="host", metavar="HOST",
                        help="bind to host address (default: 0.0.0.0)")
    server.add_argument("-p", "--port", type=int, metavar="PORT", help="use port for clients (default: 4222)")
    server.add_argument("-n", "--name", "--server_name", dest="server_name", metavar="NAME",
                        help="server name (default: the server id)")
    server.add_argument("-m", "--http_port", type=int, metavar="PORT", help="use port for http monitoring")
    server.add_argument("-c", "--config", dest="config_file", metavar="FILE", help="configuration file")
    server.add_argument("-t", dest="test_config", action="store_true",
                        help="test the configuration and exit")
    server.add_argument("-P", "--pid", dest="pid_file", metavar="FILE", help="file to store the process id")
    server.add_argument("-sl", "--signal", dest="signal", metavar="SIGNAL[=PID]",
                        help="send a signal to an edgenats-server process (ldm, stop, quit, term, reopen, reload); "
                             "PID is a process id or the path to a pid file")
    jetstream = parser.add_argument_group("JetStream Options")
    jetstream.add_argument("-js", "--jetstream", dest="jetstream_enabled", action="store_true",
                           help="enable JetStream functionality")
    jetstream.add_argument("-sd", "--store_dir", dest="store_dir", metavar="DIR",
                           help="set the storage directory (data in DIR/jetstream)")
    logging_group = parser.add_argument_group("Logging Options")
    logging_group.add_argument("-l", "--log", dest="log_file", metavar="FILE", help="file to redirect log output")
    logging_group.add_argument("-T", "--logtime", dest="logtime", metavar="BOOL",
                               choices=("true", "false"), help="timestamp log entries (default: true)")
    logging_group.add_argument("-D", "--debug", action="store_true", help="enable debugging output")
    logging_group.add_argument("-V", "--trace", action="store_true", help="trace the raw protocol")
    auth = parser.add_argument_group("Authorization Options")
    auth.add_argument("--user", metavar="USER", help="user required for connections")
    auth.add_argument("--pass", dest="password", metavar="PASSWORD", help="password required for connections")
    auth.add_argument("--auth", dest="token", metavar="TOKEN", help="authorization token required for connections")
    tls = parser.add_argument_group("TLS Options")
    tls.add_argument("--tls", nargs="?", const="true", choices=("true", "false"), metavar="BOOL",
                     help="enable TLS, do not verify clients (--tls=false: TLS off, whatever the config says)")
    tls.add_argument("--tlscert", dest="tls_cert", metavar="FILE", help="server certificate file")
    tls.add_argument("--tlskey", dest="tls_key", metavar="FILE", help="private key for server certificate")
    tls.add_argument("--tlsverify", dest="tls_verify", action="store_true",
                     help="enable TLS, verify client certificates")
    tls.add_argument("--tlscacert", dest="tls_ca_cert", metavar="FILE", help="client certificate CA for verification")
    parser.add_argument("-v", "--version", action="version",
                        version=f"{PROGRAM}: v{__version__} (nats-server {NATS_COMPAT_VERSION} compatible)")
    return parser


def refuse_unsupported(argv: list[str]) -> None:
    for argument in argv:
        flag = argument.split("=", 1)[0]
        if flag in _UNSUPPORTED_FLAGS:
            raise SystemExit(f"{PROGRAM}: flag {flag} ({_UNSUPPORTED_FLAGS[flag]}) is not supported by edgenats")


def flag_overrides(arguments: argparse.Namespace) -> dict:
    names = ("host", "port", "server_name", "http_port", "log_file", "pid_file", "user", "password", "token",
             "store_dir", "tls_cert", "tls_key", "tls_ca_cert")
    overrides = {name: getattr(arguments, name) for name in names if getattr(arguments, name) is not None}
    if arguments.jetstream_enabled:
        overrides["jetstream_enabled"] = True
    if arguments.tls is not None:
        overrides["tls"] = arguments.tls == "true"
    if arguments.tls_verify:
        overrides["tls_verify"] = True
    if arguments.debug:
        overrides["debug"] = True
    if arguments.trace:
        overrides["trace"] = True
    if arguments.logtime is not None:
        overrides["logtime"] = arguments.logtime == "true"
    return overrides


async def _serve(options) -> None:
    from edgenats.server import Server

    server = Server(options)
    await server.start()
    await server.serve_until_stopped()


def main(argv: list[str] | None = None) -> int:
    # Before anything imports asyncio: OpenSSL is loaded only once TLS is configured (tls_runtime).
    import_asyncio_without_ssl()
    import asyncio

    from edgenats.event_loop import loop_factory
    from edgenats.jetstream.errors import CipherError
    from edgenats.logs import configure_logging
    from edgenats.options import OptionsError, load_options

    argv = list(sys.argv[1:] if argv is None else argv)
    refuse_unsupported(argv)
    arguments = build_parser().parse_args(argv)
    if arguments.signal is not None:
        from edgenats.cli.signal_command import send_signal

        return send_signal(arguments.signal)
    try:
        options = load_options(arguments.config_file, flag_overrides(arguments))
        if arguments.test_config:
            from edgenats.server import build_authenticator, build_client_tls

            build_authenticator(options)
            build_client_tls(options)
    except OptionsError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    if arguments.test_config:
        print(f"{PROGRAM}: configuration file {arguments.config_file or '(none)'} test is successful")
        return 0
    configure_logging(options.debug, options.trace, options.logtime, options.log_file)
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(_serve(options))
    except OSError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    except CipherError as error:
        print(f"{PROGRAM}: jetstream: {error}", file=sys.stderr)
        return 1
    except OptionsError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    return 0
