"""Bad and odd client input (spec §1, §9), answered as nats-server answers it: argument separators,
sizes, UNSUB maximums, control-line limits per verb, early -ERR on bytes that start no operation,
and CONNECT/INFO JSON decoded by Go's rules (wrong types refused, null and invalid UTF-8 accepted).

Each expectation was observed on nats-server first; both servers must give it.
"""

from __future__ import annotations

import pytest
from rawclient import RawClient

UNKNOWN_OP = b"-ERR 'Unknown Protocol Operation'\r\n"
TOO_LONG = b"-ERR 'maximum control line exceeded'\r\n"


@pytest.mark.parametrize("separator", [b"\x0b", b"\x0c", b"\r"])
def test_only_spaces_and_tabs_separate_pub_arguments(server, separator):
    # `a<sep>b` is one subject: nothing reaches the subscriber of `a`.
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB a 1\r\nPUB a" + separator + b"b 1\r\nx\r\nPUB a 1\r\ny\r\n")
        assert client.fence() == b"MSG a 1 1\r\ny\r\n"


def test_a_carriage_return_inside_a_line_drops_the_arguments_last_byte(server):
    # nats-server drops the byte before the \n once it saw a \r in the arguments: the sid is `1`.
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB a 1\rx\nPUB a 1\r\nx\r\n")
        assert client.fence() == b"MSG a 1 1\r\nx\r\n"


def test_sub_arguments_may_start_on_the_next_line(server):
    # After `SUB ` the argument starts at the next byte whatever it is, even the \n.
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB \nfoo 1\r\nPUB foo 1\r\nx\r\n")
        assert client.fence() == b"MSG foo 1 1\r\nx\r\n"


def test_connect_json_may_start_on_the_next_line(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT\n{"verbose":false}\r\nPING\r\n')
        client.expect(b"PONG\r\n")


def test_a_size_of_nine_digits_is_accepted_and_repeated_as_sent(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB foo 1\r\nPUB foo 000000005\r\nhello\r\n")
        assert client.fence() == b"MSG foo 1 000000005\r\nhello\r\n"


def test_header_sizes_with_leading_zeros_are_repeated_as_sent_to_header_receivers(server):
    block = b"NATS/1.0\r\nX-Id: 1\r\n\r\n"
    with RawClient.connect(server.port) as legacy, RawClient.connect(server.port) as modern:
        legacy.send(b'CONNECT {"verbose":false}\r\nSUB foo 1\r\n')
        legacy.fence()
        modern.send(b'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 2\r\n')
        modern.send(b"HPUB foo r 0%d 0%d\r\n%shello\r\n" % (len(block), len(block) + 5, block))
        assert modern.fence() == b"HMSG foo 2 r 0%d 0%d\r\n%shello\r\n" % (len(block), len(block) + 5, block)
        assert legacy.fence() == b"MSG foo 1 r 5\r\nhello\r\n"


@pytest.mark.parametrize("size", [b"0000000005", b"+5", b"-5", b"5x"])
def test_a_size_that_is_not_one_to_nine_digits_closes_silently(server, size):
    with RawClient.handshake(server.port) as client:
        client.send(b"PUB foo " + size + b"\r\nhello\r\n")
        assert client.read_until_eof() == b""


@pytest.mark.parametrize("maximum", [b"x", b"-1", b"+5", b"0", b"0000000005"])
def test_unsub_with_a_maximum_that_is_no_size_unsubscribes_at_once(server, maximum):
    with RawClient.connect(server.port) as client:
        client.send(b"SUB a 1\r\nUNSUB 1 " + maximum + b"\r\nPUB a 1\r\nx\r\n")
        assert client.fence() == b"+OK\r\n+OK\r\n+OK\r\n"


def test_unsub_maximum_counts_messages(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB a 1\r\nUNSUB 1 000000002\r\nPUB a 1\r\nx\r\nPUB a 1\r\ny\r\nPUB a 1\r\nz\r\n")
        assert client.fence() == b"MSG a 1 1\r\nx\r\nMSG a 1 1\r\ny\r\n"


@pytest.mark.parametrize(
    "data",
    [b"X", b"PUX", b"SUBX", b"PUB\r\n", b"UNSUB\r\n", b"-ERR\r\n", b"+O\r\n", b"MSG a 1 1\r\n", b"RS+ a\r\n"],
)
def test_bytes_that_start_no_operation_get_unknown_protocol_operation(server, data):
    with RawClient.handshake(server.port) as client:
        client.send(data)
        assert client.read_until_eof() == UNKNOWN_OP


def test_unknown_operation_is_answered_before_the_line_ends(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PUBLISH-WITHOUT-A-NEWLINE")
        assert client.read_until_eof() == UNKNOWN_OP


def test_ping_takes_any_bytes_up_to_the_newline_without_a_limit(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"PING" + b"x" * 10000 + b"\r\n")
        client.expect(b"PONG\r\n")


@pytest.mark.parametrize(
    "verb,argument",
    [
        (b"PUB ", b"a " + b" " * 4093 + b"0"),
        (b"SUB ", b"a " + b" " * 4093 + b"1"),
        (b"UNSUB ", b"1 " + b" " * 4093 + b"1"),
        (b"CONNECT ", b"{" + b" " * 4094 + b"}"),
    ],
)
def test_an_argument_of_max_control_line_bytes_is_accepted(server, verb, argument):
    # The limit counts the argument: after the verb and its spaces, before the \r\n.
    assert len(argument) == 4096
    with RawClient.handshake(server.port) as client:
        client.send(verb + argument + b"\r\n" + (b"\r\n" if verb == b"PUB " else b""))
        assert client.fence() in (b"", b"+OK\r\n")


@pytest.mark.parametrize("verb", [b"PUB ", b"SUB ", b"UNSUB ", b"CONNECT ", b"INFO ", b"-ERR "])
def test_an_argument_one_byte_over_max_control_line_is_refused(server, verb):
    with RawClient.handshake(server.port) as client:
        client.send(verb + b"a" * 4097 + b"\r\n")
        assert client.read_until_eof() == TOO_LONG


def test_hpub_argument_over_max_control_line_is_refused(server):
    with RawClient.handshake(server.port, headers=True) as client:
        client.send(b"HPUB a " + b" " * 4092 + b"2 2\r\n")
        assert client.read_until_eof() == TOO_LONG


def test_spaces_after_the_verb_do_not_count_against_the_limit(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB" + b" " * 5000 + b"a 1\r\nPUB a 1\r\nx\r\n")
        assert client.fence() == b"MSG a 1 1\r\nx\r\n"


def test_an_incomplete_argument_over_the_limit_is_refused_before_its_newline(server):
    with RawClient.handshake(server.port) as client:
        client.send(b"SUB " + b"a" * 5000)
        assert client.read_until_eof() == TOO_LONG


def test_invalid_publish_subject_is_reported_from_the_control_line(server):
    # Pedantic: the -ERR comes when the PUB line is read, before the broken payload is found.
    with RawClient.connect(server.port) as client:
        client.send(b"PUB foo.* 1\r\nxyz\r\n")
        assert client.read_until_eof() == b"-ERR 'Invalid Publish Subject'\r\n" + UNKNOWN_OP


def test_hmsg_from_a_client_is_an_empty_message_without_subject(server):
    with RawClient.connect(server.port) as client:
        client.send(b"HMSG ignored arguments\r\n\r\n")
        assert client.fence() == b"+OK\r\n"


@pytest.mark.parametrize(
    "json_text",
    [
        b"null",
        b'{"verbose":null,"name":null}',
        b'{"name":"\xff\xfe","lang":"\\ud800"}',
        b'{"protocol":-0,"unknown":[1.5e400,{"x":null}]}',
        b'{"import":null,"export":{"allow":["a",null],"deny":null}}',
    ],
)
def test_connect_json_that_go_accepts_is_accepted(server, json_text):
    with RawClient.connect(server.port) as client:
        client.send(b"CONNECT " + json_text + b"\r\nPING\r\n")
        client.expect(b"+OK\r\nPONG\r\n")


@pytest.mark.parametrize(
    "json_text",
    [
        b"[]",
        b'"x"',
        b'{"verbose":1}',
        b'{"verbose":"false"}',
        b'{"name":5}',
        b'{"protocol":1.0}',
        b'{"protocol":"1"}',
        b'{"protocol":1e0}',
        b'{"protocol":9223372036854775808}',
        b'{"import":5}',
        b'{"export":{"allow":"a"}}',
        b'{"verbose":1,"verbose":false}',
        b'{"x":NaN}',
        b"{} x",
    ],
)
def test_connect_json_that_go_refuses_closes_silently(server, json_text):
    with RawClient.connect(server.port) as client:
        client.send(b"CONNECT " + json_text + b"\r\n")
        assert client.read_until_eof() == b""


def test_connect_field_names_match_in_any_case(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"VERBOSE":false,"Pedantic":false}\r\nPUB foo.* 1\r\nx\r\nPING\r\n')
        client.expect(b"PONG\r\n")


def test_a_second_connect_keeps_what_it_does_not_mention(server):
    with RawClient.connect(server.port) as client:
        client.send(b'CONNECT {"verbose":false}\r\nCONNECT {}\r\nPING\r\n')
        client.expect(b"PONG\r\n")


@pytest.mark.parametrize("json_text", [b"null", b"{}", b'{"port":4222,"connect_urls":["a",null]}'])
def test_info_from_a_client_is_ignored(server, json_text):
    with RawClient.handshake(server.port) as client:
        client.send(b"INFO " + json_text + b"\r\n")
        assert client.fence() == b""


@pytest.mark.parametrize("json_text", [b'{"port":"x"}', b'{"client_id":-1}', b'{"max_payload":2147483648}', b"[]"])
def test_info_from_a_client_with_wrong_types_closes_silently(server, json_text):
    with RawClient.handshake(server.port) as client:
        client.send(b"INFO " + json_text + b"\r\n")
        assert client.read_until_eof() == b""
