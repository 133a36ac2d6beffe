"""`edgenats pub`, `sub`, `request` and `reply` as a user runs them, against both servers."""

from __future__ import annotations

import select

from operator_cli import BackgroundCommand, run_cli
from servers import free_port

TOKEN_CONFIG = "authorization { token: s3cret }\n"


def test_sub_with_count_prints_what_pub_sent_and_exits(server, background_cli):
    subscriber = background_cli("-s", server.url, "sub", "greetings", "--count", "2")
    subscriber.wait_for_stderr_line("Subscribing on greetings")

    published = run_cli("-s", server.url, "pub", "greetings", "hello {{Count}}", "--count", "2")

    assert published.returncode == 0, published.stderr
    assert 'Published 2 messages' in published.stderr
    code, stdout, _ = subscriber.finish()
    assert code == 0
    assert stdout == '[#1] Received on "greetings"\nhello 1\n\n[#2] Received on "greetings"\nhello 2\n\n'


def test_sub_prints_headers_and_reply_subject(server, background_cli):
    subscriber = background_cli("sub", "orders", "--count", "1", "-s", server.url)
    subscriber.wait_for_stderr_line("Subscribing on orders")

    published = run_cli(
        "pub", "orders", "one", "--header", "Trace:abc", "--reply", "answers", "-s", server.url
    )

    assert published.returncode == 0, published.stderr
    code, stdout, _ = subscriber.finish()
    assert code == 0
    assert stdout == '[#1] Received on "orders" with reply "answers"\nTrace: abc\n\none\n\n'


def test_request_prints_the_answer_of_reply(server, background_cli):
    responder = background_cli("-s", server.url, "reply", "time.now", "noon", "--count", "1")
    responder.wait_for_stderr_line('Listening on "time.now"')

    answered = run_cli("-s", server.url, "request", "time.now", "what time?", "--timeout", "5s")

    assert answered.returncode == 0, answered.stderr
    assert answered.stdout == "noon\n"
    assert "Received with rtt" in answered.stderr
    code, stdout, _ = responder.finish()
    assert code == 0
    assert '[#1] Received on "time.now" with reply "_INBOX.' in stdout
    assert "what time?" in stdout


def test_reply_echo_answers_with_the_request_body(server, background_cli):
    responder = background_cli("-s", server.url, "reply", "echo", "--echo", "--count", "2")
    responder.wait_for_stderr_line('Listening on "echo"')

    first = run_cli("-s", server.url, "request", "echo", "ping 1", "--raw")
    second = run_cli("-s", server.url, "request", "echo", "ping 2", "--raw", "--header", "K:V")

    assert (first.returncode, first.stdout) == (0, "ping 1\n")
    assert (second.returncode, second.stdout) == (0, "ping 2\n")
    assert responder.finish()[0] == 0


def test_queue_group_members_share_the_messages(server, background_cli):
    members = [
        background_cli("-s", server.url, "sub", "jobs", "--queue", "workers", "--raw") for _ in range(2)
    ]
    for member in members:
        member.wait_for_stderr_line("Subscribing on jobs in queue group workers")

    assert run_cli("-s", server.url, "pub", "jobs", "job {{Count}}", "--count", "20").returncode == 0

    received = read_stdout_lines(members, count=20)
    assert sorted(received, key=lambda line: int(line.split()[1])) == [f"job {n}" for n in range(1, 21)]


def read_stdout_lines(commands: list[BackgroundCommand], count: int, timeout: float = 10.0) -> list[str]:
    """Lines printed by any of `commands`, until `count` arrived (fails after `timeout` seconds)."""
    lines: list[str] = []
    by_stream = {command.process.stdout: command for command in commands}
    while len(lines) < count:
        ready, _, _ = select.select(list(by_stream), [], [], timeout)
        assert ready, f"only {len(lines)} of {count} lines within {timeout}s: {lines}"
        for stream in ready:
            line = by_stream[stream].read_stdout_line()
            assert line, f"a subscriber exited early after {lines}"
            lines.append(line)
    return lines


def test_request_without_responders_fails_clearly(server):
    result = run_cli("-s", server.url, "request", "nobody.home", "hello")

    assert result.returncode != 0
    assert result.stderr.strip().endswith(
        'edgenats: error: no responders available for request on "nobody.home"'
    )
    assert "Traceback" not in result.stderr


def test_request_times_out_when_a_subscriber_never_answers(server, background_cli):
    silent = background_cli("-s", server.url, "sub", "silent")
    silent.wait_for_stderr_line("Subscribing on silent")

    result = run_cli("-s", server.url, "request", "silent", "anyone?", "--timeout", "300ms")

    assert result.returncode != 0
    assert 'edgenats: error: no reply to request on "silent" within 0.3s' in result.stderr
    assert "Traceback" not in result.stderr


def test_refused_connection_is_one_clear_line():
    url = f"nats://127.0.0.1:{free_port()}"

    result = run_cli("-s", url, "pub", "anything", "x")

    assert result.returncode != 0
    assert result.stderr == f"edgenats: error: cannot connect to {url}: connection refused\n"


def test_bad_url_is_rejected_before_connecting():
    result = run_cli("-s", "http://127.0.0.1:80", "sub", "anything")

    assert result.returncode != 0
    assert result.stderr == (
        "edgenats: error: invalid server URL 'http://127.0.0.1:80': scheme must be one of nats, tls\n"
    )


def test_a_url_missing_its_colon_is_refused_not_read_as_host_nats():
    result = run_cli("-s", "nats//127.0.0.1:14222", "pub", "anything", "x")

    assert result.returncode != 0
    assert result.stderr == (
        "edgenats: error: invalid server URL 'nats//127.0.0.1:14222': expected nats://host:port or host:port\n"
    )


def test_server_url_comes_from_nats_url_environment(server, monkeypatch):
    monkeypatch.setenv("NATS_URL", server.url)

    result = run_cli("pub", "from.environment", "x")

    assert result.returncode == 0, result.stderr
    assert result.stderr == 'Published 1 bytes to "from.environment"\n'


def test_wrong_token_is_an_authorization_violation(server_kind, server_factory):
    server = server_factory(server_kind, config=TOKEN_CONFIG)

    wrong = run_cli("-s", server.url, "--token", "guess", "pub", "secret.topic", "x")
    missing = run_cli("-s", server.url, "pub", "secret.topic", "x")
    right = run_cli("-s", server.url, "--token", "s3cret", "pub", "secret.topic", "x")

    for refused in (wrong, missing):
        assert refused.returncode != 0
        assert refused.stderr == (
            f"edgenats: error: cannot connect to {server.url}: "
            "authorization violation (check --user/--password/--token)\n"
        )
    assert right.returncode == 0, right.stderr
