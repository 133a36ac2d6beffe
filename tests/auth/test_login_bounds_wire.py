"""edgenats' bounds on connections that have not logged in (extensions nats-server does not have):
`auth_failure_delay` slows repeated failed logins from one address, `max_pending_connects` refuses
sockets beyond the bound while logged-in clients keep working."""

import asyncio
import resource
import subprocess
import sys
import time

import nats
import pytest
from auth_wire import WireClient

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"
USERS = "authorization { users: [ { user: svc, password: pw } ], timeout: 10 }\n"
FLOOD = 2000
BOUND = 100


def test_a_repeated_failed_login_is_answered_after_the_delay(server_factory):
    server = server_factory("edgenats", USERS + 'auth_failure_delay: "400ms"\n')
    answers = []
    for _ in range(2):
        with WireClient(server.port) as client:
            started = time.monotonic()
            client.connect(user="svc", **{"pass": "wrong"})
            # The PING after the refused CONNECT is not answered.
            answers.append((client.read_to_close(), time.monotonic() - started))
    assert [data for data, _ in answers] == [AUTH_VIOLATION, AUTH_VIOLATION]
    assert answers[0][1] < 0.4 <= answers[1][1]
    with WireClient(server.port) as client:
        started = time.monotonic()
        client.connect(user="svc", **{"pass": "pw"})
        assert client.read_line() == b"PONG"
        assert time.monotonic() - started < 0.4


LOGIN = b'CONNECT {"verbose":false,"pedantic":false,"user":"svc","pass":"pw"}\r\nPING\r\n'


async def _connection(
    port: int, opening: asyncio.Semaphore, writers: dict, refused: list, all_refused: asyncio.Event
) -> bytes:
    """One socket that reads INFO and then waits: the first line the server sends after INFO."""
    async with opening:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        info = await reader.readline()
    try:
        assert info.startswith(b"INFO ")
        writers[asyncio.current_task()] = writer
        answer = await reader.readline()
        if answer.startswith(b"-ERR"):
            assert await reader.read() == b""
            refused.append(answer)
            if len(refused) == FLOOD - BOUND:
                all_refused.set()
        return answer
    finally:
        writer.close()


async def test_a_flood_of_unauthenticated_connections_is_bounded_while_clients_keep_working(server_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 3 * FLOOD:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * FLOOD), hard))
    server = server_factory("edgenats", USERS + f"max_pending_connects: {BOUND}\n")
    nc = await nats.connect(server.url, user="svc", password="pw", allow_reconnect=False)

    async def echo(msg):
        await msg.respond(msg.data)

    await nc.subscribe("echo", cb=echo)
    round_trips = []
    flooding = True

    async def requester() -> None:
        while flooding:
            started = time.monotonic()
            assert (await nc.request("echo", b"x", timeout=1)).data == b"x"
            round_trips.append(time.monotonic() - started)

    requests = asyncio.create_task(requester())
    writers: dict = {}
    refused: list = []
    all_refused = asyncio.Event()
    # A few connects at a time, so that this process's own loop keeps serving the requester: what is
    # measured is the broker (about 2,000 connections a second reach it).
    opening = asyncio.Semaphore(20)
    flood = [
        asyncio.create_task(_connection(server.port, opening, writers, refused, all_refused)) for _ in range(FLOOD)
    ]
    try:
        await asyncio.wait_for(all_refused.wait(), 30)
        assert set(refused) == {b"-ERR 'maximum pending connections exceeded'\r\n"}
        flooding = False
        await requests
        assert len(round_trips) >= 10 and max(round_trips) < 0.5
        # Exactly the bound was left waiting for CONNECT; logging them in frees the bound for newcomers.
        waiting = [task for task in flood if not task.done()]
        assert len(waiting) == BOUND
        for task in waiting:
            writers[task].write(LOGIN)
        assert set(await asyncio.gather(*waiting)) == {b"PONG\r\n"}
        late = await nats.connect(server.url, user="svc", password="pw", allow_reconnect=False)
        assert (await late.request("echo", b"y", timeout=1)).data == b"y"
        await late.close()
    finally:
        flooding = False
        for task in flood:
            task.cancel()
        await asyncio.gather(requests, *flood, return_exceptions=True)
        await nc.close()


@pytest.mark.parametrize(
    "setting, message",
    [("max_pending_connects: 0", "max_pending_connects must be at least 1"),
     ('auth_failure_delay: "-1s"', "auth_failure_delay must not be negative"),
     ("auth_failure_delay: soon", "auth_failure_delay: invalid duration")],
)
def test_bad_bounds_are_refused_by_the_config_check(tmp_path, setting, message):
    config = tmp_path / "bad.conf"
    config.write_text(setting + "\n")
    checked = subprocess.run([sys.executable, "-m", "edgenats", "-c", str(config), "-t"], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode != 0 and message in checked.stderr
