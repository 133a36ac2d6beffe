"""What the server refuses reaches the user of `edgenats pub`, `sub` and `request`: the server's own words,
a non-zero exit and no traceback, against both servers; and the server logs the violation as
nats-server does."""

from __future__ import annotations

import re

import pytest
from operator_cli import run_cli

CONFIG = """
max_payload: 64
authorization { users = [ { user: dev, password: pw,
  permissions: { publish: { deny: ["secret.>"] }, subscribe: { deny: ["secret.>"] } } } ] }
"""


@pytest.fixture
def restricted(server_kind, server_factory):
    server = server_factory(server_kind, config=CONFIG)
    return server, f"nats://dev:pw@127.0.0.1:{server.port}"


def _refused(result, message: str) -> None:
    assert result.returncode != 0
    assert result.stderr == f"edgenats: error: {message}\n"


def test_a_denied_publish_fails_with_the_servers_words_and_is_logged(restricted):
    server, url = restricted

    result = run_cli("-s", url, "pub", "secret.plans", "x")

    _refused(result, 'Permissions Violation for Publish to "secret.plans"')
    assert re.search(r'cid:\d+ - "v[\d.]+:python3:edgenats-cli" - "\$G/user:dev" - '
                     r'Publish Violation - Subject "secret.plans"', server.log_text())


def test_a_denied_subscription_fails_at_once_and_is_logged(restricted):
    server, url = restricted

    result = run_cli("-s", url, "sub", "secret.plans")

    _refused(result, 'Permissions Violation for Subscription to "secret.plans"')
    assert re.search(r'"\$G/user:dev" - Subscription Violation - Subject "secret.plans", SID 1', server.log_text())


def test_a_denied_request_says_so_instead_of_timing_out(restricted):
    _server, url = restricted

    result = run_cli("-s", url, "request", "secret.plans", "x", "--timeout", "1s")

    assert result.returncode != 0
    assert result.stderr == ('Sending request on "secret.plans"\n'
                             'edgenats: error: Permissions Violation for Publish to "secret.plans"\n')


@pytest.mark.parametrize("subject", ["a b", ""])
def test_an_invalid_subject_is_one_line(restricted, subject):
    _server, url = restricted

    result = run_cli("-s", url, "pub", subject, "x")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("edgenats: error: ")


def test_a_payload_over_max_payload_is_one_line(restricted):
    _server, url = restricted

    result = run_cli("-s", url, "pub", "allowed", "x" * 65)

    _refused(result, "the message is larger than the server's max_payload (64 bytes)")


def test_an_allowed_publish_still_succeeds(restricted):
    _server, url = restricted

    result = run_cli("-s", url, "pub", "allowed", "x")

    assert result.returncode == 0, result.stderr
    assert result.stderr == 'Published 1 bytes to "allowed"\n'
