"""Differential exchanges: the same client bytes sent to two brokers, their answers compared in kind.

`answer(port, data)` opens a fresh connection, skips the INFO, sends `data` followed by a PING
fence and reads until the fence's PONG, counted as one PONG for every PING sent (the connection was
kept), EOF (it was closed) or a short deadline (it was kept, waiting for more input). The answer
is a tuple of operations in kind: "+OK", "PONG", ("-ERR", text), ("MSG", subject, [reply], size,
payload), ("HMSG", ...); INFO lines are left out (their contents differ between servers), and the
last element is how the connection ended: "closed", "open" or "waiting".

`generated_inputs(seed, count)` yields reproducible inputs: random bytes and mutated valid streams.
Inputs stay under 512 bytes so nats-server reads each one in a single read (its first read buffer is
512 bytes; a line split across reads is treated differently from a whole one).
"""

from __future__ import annotations

import asyncio
import random

FENCE = b"PING\r\n"
MAX_INPUT = 512 - len(FENCE)

VALID_OPERATIONS = [
    b'CONNECT {"verbose":false,"pedantic":true,"headers":true}\r\n',
    b'CONNECT {"verbose":true,"protocol":1,"headers":true,"no_responders":true}\r\n',
    b'CONNECT {"echo":false,"name":"n","lang":"python3","version":"1.0","protocol":0}\r\n',
    b"CONNECT {}\r\n",
    b"PING\r\n",
    b"PONG\r\n",
    b"SUB foo 1\r\n",
    b"SUB foo.* q%d 2\r\n",
    b"SUB > 3\r\n",
    b"UNSUB 1\r\n",
    b"UNSUB 3 2\r\n",
    b"PUB foo 5\r\nhello\r\n",
    b"PUB foo.bar reply.x 0\r\n\r\n",
    b"pub foo\t 2\nhi\r\n",
    b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    b"HPUB foo.bar r 21 26\r\nNATS/1.0\r\nX-Id: 1\r\n\r\nhello\r\n",
    b"INFO {}\r\n",
    b"+OK\r\n",
]

# Bytes that sit on the parser's decision points, drawn more often than uniform random bytes.
INTERESTING_BYTES = b" \t\r\n\x0b\x0c\x00\x80\xff0123456789.*>{}\":,-+"


def ended(answer: tuple) -> str:
    return answer[-1]


async def answer(port: int, data: bytes, deadline: float = 0.25, connect_timeout: float = 5.0) -> tuple:
    """The answer in kind of a broker on 127.0.0.1:`port` to `data` on a fresh connection."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), connect_timeout)
    try:
        info = await asyncio.wait_for(reader.readuntil(b"\r\n"), connect_timeout)
        if not info.startswith(b"INFO "):
            raise AssertionError(f"first line is not INFO: {info!r}")
        sent = data + FENCE
        writer.write(sent)
        # Every PING (in any case) may be answered: the answer is whole only once the PONGs are as many
        # (a slow broker's output can end on an earlier PONG between two reads).
        pings = sent.upper().count(b"PING")
        received = bytearray()
        ending = "waiting"
        loop = asyncio.get_running_loop()
        stop = loop.time() + deadline
        while True:
            remaining = stop - loop.time()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            except TimeoutError:
                break
            if not chunk:
                ending = "closed"
                break
            received += chunk
            if _ends_with_pong(received) and received.count(b"PONG\r\n") >= pings:
                ending = "open"
                break
        return (*operations_in_kind(bytes(received)), ending)
    finally:
        writer.transport.abort()


def _ends_with_pong(received: bytearray) -> bool:
    """True when the received bytes parse completely and their last operation (INFO aside) is PONG.

    A protocol 1 client gets an INFO after its first PONG; that INFO may follow or not yet."""
    try:
        kinds = operations_in_kind(bytes(received))
    except ValueError:
        return False
    return bool(kinds) and kinds[-1] == "PONG"


def operations_in_kind(data: bytes) -> list:
    """Server output as a list of operations in kind; an unparsable tail becomes ("garbled", bytes)."""
    kinds: list = []
    position = 0
    while position < len(data):
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            kinds.append(("partial", data[position:]))
            break
        line = data[position:line_end]
        following = line_end + 2
        if line in (b"+OK", b"PONG", b"PING"):
            kinds.append(line.decode())
        elif line.startswith(b"-ERR '") and line.endswith(b"'"):
            kinds.append(("-ERR", line[6:-1].decode("latin-1")))
        elif line.startswith(b"INFO "):
            pass
        elif line.startswith((b"MSG ", b"HMSG ")):
            fields = line.split(b" ")
            verb = fields[0].decode()
            try:
                total = int(fields[-1])
            except ValueError:
                kinds.append(("garbled", data[position:]))
                break
            stop = following + total + 2
            if stop > len(data):
                kinds.append(("partial", data[position:]))
                break
            if data[stop - 2 : stop] != b"\r\n":
                kinds.append(("garbled", data[position:]))
                break
            # (verb, subject, [reply], [header size], size, payload): the sid is left out, as a queue
            # group with several members on one connection may deliver to either.
            fields = [field.decode("latin-1") for field in fields[1:]]
            kinds.append((verb, fields[0], *fields[2:], data[following : stop - 2]))
            following = stop
        else:
            kinds.append(("garbled", data[position:]))
            break
        position = following
    return kinds


def _mutated(rng: random.Random, index: int) -> bytes:
    # Queue groups are named after the input: a group member left by an earlier input's connection,
    # not yet removed by the server, would otherwise take this input's messages.
    data = bytearray(
        b"".join(rng.choice(VALID_OPERATIONS).replace(b"%d", b"%d" % index) for _ in range(rng.randint(1, 10)))
    )
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, max(len(data) - 1, 0))
        kind = rng.choice(("replace", "replace", "insert", "delete", "duplicate", "swapcase", "digits"))
        if kind == "replace" and data:
            data[position] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.6 else rng.randrange(256)
        elif kind == "insert":
            data[position:position] = bytes(
                rng.choice(INTERESTING_BYTES) if rng.random() < 0.6 else rng.randrange(256)
                for _ in range(rng.randint(1, 8))
            )
        elif kind == "delete" and data:
            del data[position : position + rng.randint(1, 3)]
        elif kind == "duplicate":
            data[position:position] = data[position : position + rng.randint(1, 40)]
        elif kind == "swapcase":
            data[position : position + 8] = data[position : position + 8].swapcase()
        elif kind == "digits":
            data[position:position] = str(rng.randint(0, 10**12)).encode()
    return bytes(data[:MAX_INPUT])


def generated_inputs(seed: int, count: int, start: int = 0):
    """`count` inputs from a fixed seed; input i is the same whatever `start`/`count` slice is asked."""
    for index in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + index)
        if rng.random() < 0.25:
            size = rng.randint(1, 120)
            yield bytes(rng.choice(INTERESTING_BYTES) if rng.random() < 0.3 else rng.randrange(256)
                        for _ in range(size))
        else:
            yield _mutated(rng, index)


async def _answers(ports: dict[str, int], data: bytes, deadline: float) -> dict[str, tuple]:
    kinds = list(ports)
    found = await asyncio.gather(*(answer(ports[kind], data, deadline) for kind in kinds))
    return dict(zip(kinds, found, strict=True))


async def compare(
    ports: dict[str, int], inputs, deadline: float = 0.05, confirm_deadline: float = 2.0
) -> list[tuple[bytes, dict[str, tuple]]]:
    """Answer every input on each broker; returns [(input, {kind: answer})] where the answers differ.

    The brokers answer each input at the same time, but inputs go one after another: connections on
    one broker share subjects, so concurrent inputs would see each other's messages. A difference is
    confirmed with a long deadline, so a broker that was merely slow is not reported as waiting.
    """
    differences = []
    for data in inputs:
        answers = await _answers(ports, data, deadline)
        if len(set(answers.values())) > 1:
            answers = await _answers(ports, data, confirm_deadline)
            if len(set(answers.values())) > 1:
                differences.append((data, answers))
    return differences
