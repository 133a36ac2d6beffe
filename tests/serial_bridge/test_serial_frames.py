"""The serial line protocol's codec on crafted lines: frames in and out, console output between them, frames
split across reads, bad checksums and malformed frames refused with the number they carry."""

from __future__ import annotations

import re
from pathlib import Path

from edgenats.serial_bridge.frames import (
    ConsoleLine,
    Frame,
    LineDecoder,
    LineState,
    Refused,
    crc16,
    encode,
    pack,
    pack_headers,
    unpack,
    unpack_headers,
)


def test_a_frame_is_one_line_with_its_checksum():
    line = encode(7, "PUB", "devices.b1.telemetry", "-", pack_headers({"Nats-Msg-Id": "b1-x-1"}), pack(b"{}"))
    assert line.startswith(b"~7 PUB devices.b1.telemetry - ") and line.endswith(b"\n")
    body, crc = line[1:-1].rsplit(b" ", 1)
    assert int(crc, 16) == crc16(body)
    assert crc16(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value
    [frame] = LineDecoder().feed(line)
    assert frame == Frame(7, "PUB", ("devices.b1.telemetry", "-", frame.fields[2], frame.fields[3]))
    assert unpack_headers(frame.fields[2]) == {"Nats-Msg-Id": "b1-x-1"} and unpack(frame.fields[3]) == b"{}"


def test_console_output_between_frames_is_kept_apart():
    ack = encode(0, "ACK", "3", "-")
    data = (b"MicroPython v1.24\r\n>>> \r\nedgeapp: outbox: flash 0 readings pending\n" + ack
            + b"Traceback ~ not a frame\n")
    events = LineDecoder().feed(data)
    assert events == [ConsoleLine("MicroPython v1.24"), ConsoleLine(">>> "),
                      ConsoleLine("edgeapp: outbox: flash 0 readings pending"), Frame(0, "ACK", ("3", "-")),
                      ConsoleLine("Traceback ~ not a frame")]


def test_a_frame_split_across_reads_is_put_together():
    line = encode(12, "HELLO", "b1", "0.1.0", "0badc0de", "4")
    decoder = LineDecoder()
    events = []
    for cut in range(0, len(line), 5):
        events += decoder.feed(line[cut:cut + 5])
        if cut + 5 < len(line):
            assert decoder.state is LineState.FRAME and not events
    assert events == [Frame(12, "HELLO", ("b1", "0.1.0", "0badc0de", "4"))]
    assert decoder.state is LineState.LINE_START


def test_a_bad_checksum_is_refused_with_the_frame_number():
    line = bytearray(encode(9, "PUB", "a.b", "-", "-", pack(b"x")))
    line[-2] = ord("0") if line[-2] != ord("0") else ord("1")  # one checksum digit changed
    assert LineDecoder().feed(bytes(line)) == [Refused(9, "crc")]
    payload_hit = bytearray(encode(10, "PUB", "a.b", "-", "-", pack(b"xyz")))
    payload_hit[-10] ^= 0x01  # a byte of the payload changed on the wire
    assert LineDecoder().feed(bytes(payload_hit)) == [Refused(10, "crc")]
    assert LineDecoder().feed(b"~garbage\n") == [Refused(None, "crc")]


def test_a_good_checksum_on_bad_fields_is_refused():
    body = b"4 PUB only.two fields"
    assert LineDecoder().feed(b"~" + body + b" %04x\n" % crc16(body)) == [Refused(4, "bad")]
    body = b"5 FROB x"
    assert LineDecoder().feed(b"~" + body + b" %04x\n" % crc16(body)) == [Refused(5, "bad")]


def test_an_overlong_line_is_dropped_and_the_next_frame_still_read():
    decoder = LineDecoder()
    events = decoder.feed(b"~" + b"x" * 5000 + b"\n" + encode(1, "SYNC", "ab12"))
    assert events == [Refused(None, "long"), Frame(1, "SYNC", ("ab12",))]


def test_the_example_in_the_protocol_document_is_made_of_good_frames():
    document = (Path(__file__).resolve().parents[2] / "docs" / "SERIAL-PROTOCOL.md").read_text()
    lines = re.findall(r"^(?:bridge|board):\s+(~.*)$", document, re.MULTILINE)
    events = [e for line in lines for e in LineDecoder().feed(line.encode() + b"\n")]
    assert len(lines) >= 8 and all(isinstance(e, Frame) for e in events), events
