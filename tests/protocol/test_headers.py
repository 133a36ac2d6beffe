"""The NATS/1.0 header codec (edgenats.protocol.headers): unit tests of parsing and building, random
malformed input, and differential checks against what both servers put on the wire and what nats-py
makes of it.
"""

from __future__ import annotations

import nats
import pytest
from edgenats.protocol.headers import HeaderError, Headers, parse_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawclient import RawClient
from subscribed import subscribed

# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "status", "description"),
    [
        (b"NATS/1.0\r\n\r\n", None, ""),
        (b"NATS/1.0 503\r\n\r\n", 503, ""),
        (b"NATS/1.0 408 Request Timeout\r\n\r\n", 408, "Request Timeout"),
        (b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 7\r\n\r\n", 100, "Idle Heartbeat"),
        (b"NATS/1.0 404 No Messages\r\n\r\n", 404, "No Messages"),
        (b"NATS/1.0  409 \t Consumer Deleted \t\r\n\r\n", 409, "Consumer Deleted"),
        (b"NATS/1.0   \r\n\r\n", None, ""),
    ],
)
def test_status_line_gives_code_and_description(block, status, description):
    headers = parse_headers(block)
    assert (headers.status, headers.description) == (status, description)


def test_fields_keep_wire_order_repeats_and_key_case():
    headers = parse_headers(b"NATS/1.0\r\nX-Rep: 1\r\nx-rep: 2\r\nOther: o\r\nX-Rep: 3\r\n\r\n")
    assert headers.fields == (("X-Rep", "1"), ("x-rep", "2"), ("Other", "o"), ("X-Rep", "3"))
    assert headers.get_all("X-Rep") == ["1", "3"]
    assert headers.get_all("x-rep") == ["2"]
    assert headers.get_all("X-REP") == []


def test_lookup_is_case_sensitive_like_nats_server_msg_id():
    """nats-server's getHeader("Nats-Msg-Id", hdr) matches the raw key only."""
    headers = parse_headers(b"NATS/1.0\r\nnats-msg-id: lower\r\n\r\n")
    assert headers.get("Nats-Msg-Id") is None
    assert headers.get("nats-msg-id") == "lower"
    assert headers.get("Nats-Msg-Id", "none") == "none"


def test_get_returns_the_first_of_repeated_values():
    assert parse_headers(b"NATS/1.0\r\nA: 1\r\nA: 2\r\n\r\n").get("A") == "1"


def test_values_are_trimmed_of_spaces_and_tabs_only():
    headers = parse_headers(b"NATS/1.0\r\nA:no-space\r\nB: \t in  side \t \r\nC: x:y: z\r\nD:\r\nE: \x0bv\x0c\r\n\r\n")
    assert headers.fields == (("A", "no-space"), ("B", "in  side"), ("C", "x:y: z"), ("D", ""), ("E", "\x0bv\x0c"))


def test_bytes_outside_ascii_map_one_to_one():
    headers = parse_headers(b"NATS/1.0\r\nK\xc3\xa9: caf\xc3\xa9 \xff\r\n\r\n")
    assert headers.fields == (("K\xc3\xa9", "caf\xc3\xa9 \xff"),)
    assert headers.encode() == b"NATS/1.0\r\nK\xc3\xa9: caf\xc3\xa9 \xff\r\n\r\n"


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_any_bytes_like_block_parses(kind):
    headers = parse_headers(kind(b"NATS/1.0 503\r\nNats-Subject: a.b\r\n\r\n"))
    assert headers == Headers((("Nats-Subject", "a.b"),), 503)


@pytest.mark.parametrize(
    "block",
    [
        b"",
        b"NATS/1.0",
        b"NATS/1.0\r\n",
        b"NATS/1.0\r\nA: b\r\n",
        b"NATS/2.0\r\n\r\n",
        b"nats/1.0\r\n\r\n",
        b"NATS/1.01\r\n\r\n",
        b"NATS/1.0 50\r\n\r\n",
        b"NATS/1.0 5034\r\n\r\n",
        b"NATS/1.0 50x Bad\r\n\r\n",
        b"NATS/1.0 Request Timeout\r\n\r\n",
        b"NATS/1.0 408 Req\rTimeout\r\n\r\n",
        b"NATS/1.0\r\nno colon\r\n\r\n",
        b"NATS/1.0\r\n: empty key\r\n\r\n",
        b"NATS/1.0\r\n folded: line\r\n\r\n",
        b"NATS/1.0\r\nsp ace: v\r\n\r\n",
        b"NATS/1.0\r\nctl\x01: v\r\n\r\n",
        b"NATS/1.0\r\nA: b\nC: d\r\n\r\n",
        b"NATS/1.0\r\nA: b\rC: d\r\n\r\n",
        b"NATS/1.0\r\n\r\nA: b\r\n\r\n",
        b"NATS/1.0\r\n\r\n\r\n",
        b"NATS/1.0\r\n\r\nhi",
    ],
)
def test_malformed_block_raises_header_error(block):
    with pytest.raises(HeaderError):
        parse_headers(block)


def test_header_error_is_a_value_error():
    assert issubclass(HeaderError, ValueError)


# -- building ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "block"),
    [
        (Headers(), b"NATS/1.0\r\n\r\n"),
        (Headers(status=503), b"NATS/1.0 503\r\n\r\n"),
        (Headers((("Nats-Subject", "svc.none"),), 503), b"NATS/1.0 503\r\nNats-Subject: svc.none\r\n\r\n"),
        (Headers(status=408, description="Request Timeout"), b"NATS/1.0 408 Request Timeout\r\n\r\n"),
        (
            Headers((("Nats-Last-Consumer", "1"), ("Nats-Last-Stream", "2")), 100, "Idle Heartbeat"),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 2\r\n\r\n",
        ),
        (Headers((("a", "1"), ("A", "2"), ("a", ""))), b"NATS/1.0\r\na: 1\r\nA: 2\r\na: \r\n\r\n"),
    ],
)
def test_encode_builds_the_wire_block(headers, block):
    assert headers.encode() == block
    assert parse_headers(block) == headers


@pytest.mark.parametrize(
    "arguments",
    [
        {"status": 99},
        {"status": 1000},
        {"status": "503"},
        {"status": True},
        {"description": "no status"},
        {"status": 408, "description": "two\r\nlines"},
        {"status": 408, "description": " padded"},
        {"fields": (("Key", "line\r\nInjected: yes"),)},
        {"fields": (("Key", "trailing "),)},
        {"fields": (("Key", "\tleading"),)},
        {"fields": (("", "empty key"),)},
        {"fields": (("Bad Key", "v"),)},
        {"fields": (("Bad:Key", "v"),)},
        {"fields": (("Key", 1),)},
        {"fields": (("Key", "\u20ac"),)},
        {"fields": (("Key",),)},
        {"fields": (["Key", "list"],)},
    ],
)
def test_invalid_parts_are_refused_when_building(arguments):
    with pytest.raises(HeaderError):
        Headers(**arguments)


_KEY = st.binary(min_size=1, max_size=12).map(
    lambda raw: bytes(byte for byte in raw if byte > 0x20 and byte not in (0x3A, 0x7F)).decode("latin-1")
).filter(bool)
_TEXT = st.binary(max_size=20).map(
    lambda raw: bytes(byte for byte in raw if byte not in (0x0A, 0x0D)).strip(b" \t").decode("latin-1")
)
_HEADERS = st.one_of(
    st.builds(Headers, st.lists(st.tuples(_KEY, _TEXT), max_size=6).map(tuple)),
    st.builds(Headers, st.lists(st.tuples(_KEY, _TEXT), max_size=6).map(tuple), st.integers(100, 999), _TEXT),
)


@given(_HEADERS)
def test_parse_of_encode_is_identity(headers):
    assert parse_headers(headers.encode()) == headers


@given(st.binary(max_size=200))
def test_random_bytes_parse_or_raise_header_error(data):
    _parse_or_header_error(data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_HEADERS, st.data())
def test_damaged_blocks_parse_or_raise_header_error(headers, data):
    block = bytearray(headers.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(block)))
        action = data.draw(st.sampled_from(("insert", "delete", "replace")))
        byte = data.draw(st.sampled_from(b"\r\n \t:\x00\x7f\xffA5"))
        if action == "insert":
            block.insert(position, byte)
        elif position < len(block):
            if action == "delete":
                del block[position]
            else:
                block[position] = byte
    _parse_or_header_error(bytes(block))


def _parse_or_header_error(data: bytes) -> None:
    """Any input either raises HeaderError or parses to headers that encode and parse back unchanged."""
    try:
        headers = parse_headers(data)
    except HeaderError:
        return
    assert parse_headers(headers.encode()) == headers


# -- on the wire, both servers -----------------------------------------------------------------

_MIXED = b"NATS/1.0\r\nX-Rep: 1\r\nx-rep: 2\r\nX-Rep:3\r\nNats-Msg-Id: \t a b \t\r\n\r\n"
_WITH_STATUS = b"NATS/1.0 408 Request Timeout\r\nX-Rep: 1\r\nX-Rep: 2\r\n\r\n"


@pytest.mark.parametrize("block", [_MIXED, _WITH_STATUS], ids=["mixed-keys", "status"])
def test_hpub_header_block_is_delivered_byte_identical(server, block):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"SUB hdr.exact 1\r\nHPUB hdr.exact %d %d\r\n%s\r\n" % (len(block), len(block), block))
        [message] = client.read_messages(1)
    assert message.headers == block
    assert message.payload == b""


def test_delivered_repeated_mixed_case_keys_parse_as_sent(server):
    with RawClient.handshake(server.port, headers=True) as client:
        body = _MIXED + b"payload"
        client.send(b"SUB hdr.mixed 1\r\nHPUB hdr.mixed %d %d\r\n%s\r\n" % (len(_MIXED), len(body), body))
        [message] = client.read_messages(1)
    headers = parse_headers(message.headers)
    assert headers.status is None
    assert headers.get_all("X-Rep") == ["1", "3"]
    assert headers.get_all("x-rep") == ["2"]
    assert headers.get("Nats-Msg-Id") == "a b"
    assert message.payload == b"payload"


def test_no_responders_block_parses_to_status_503_and_subject(server):
    with RawClient.handshake(server.port, headers=True, no_responders=True) as client:
        client.send(b"SUB hdr.inbox.* 1\r\nPUB hdr.nobody hdr.inbox.1 2\r\nhi\r\n")
        [message] = client.read_messages(1)
    expected = Headers((("Nats-Subject", "hdr.nobody"),), 503)
    assert parse_headers(message.headers) == expected
    # So the codec builds exactly the block nats-server sends.
    assert expected.encode() == message.headers
    assert message.payload == b""


async def _nats_py_view(server, block: bytes | None) -> tuple[dict, bytes]:
    """What nats-py reports as the headers of one message, and the raw block the server sent.

    With a `block`, one message carrying it is published with HPUB and seen by both clients.
    Without, each client makes the same request to a subject nobody serves and gets its own
    no-responders reply (sent only to the requester).
    """
    connection = await nats.connect(server.url, allow_reconnect=False)
    try:
        seen = await connection.subscribe("hdr.py.>")
        await subscribed(connection)
        with RawClient.handshake(server.port, headers=True, no_responders=True) as raw:
            raw.send(b"SUB hdr.py.> 1\r\n")
            if block is None:
                raw.send(b"PUB hdr.py-nobody hdr.py.inbox 0\r\n\r\n")
                await connection.publish("hdr.py-nobody", b"", reply="hdr.py.inbox")
            else:
                raw.send(b"HPUB hdr.py.data %d %d\r\n%s\r\n" % (len(block), len(block), block))
            [message] = raw.read_messages(1)
        received = await seen.next_msg(timeout=5)
        return received.headers, message.headers
    finally:
        await connection.close()


@pytest.mark.parametrize("block", [None, _MIXED, _WITH_STATUS], ids=["no-responders", "mixed-keys", "status"])
async def test_nats_py_agrees_with_the_codec(server, block):
    reported, raw = await _nats_py_view(server, block)
    headers = parse_headers(raw)
    # nats-py keeps one value per key: the last one.
    fields = {key: headers.get_all(key)[-1] for key, _ in headers.fields}
    assert {key: value for key, value in reported.items() if key not in ("Status", "Description")} == fields
    assert reported.get("Status") == (str(headers.status) if headers.status is not None else None)
    if headers.description:
        assert reported["Description"] == headers.description
