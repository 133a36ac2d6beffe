"""Authentication and permissions on the wire, against both brokers: the exact bytes a client sees.

Each test starts a server of each kind with an auth config and talks to it over a raw socket, so the
rules of edgenats.auth are proved to be nats-server's real ones (PROTOCOL-SPEC §2, §9, §13, §19).
"""

import pytest
from auth_wire import WireClient

SPEC_HASH = "$2b$11$KFcDaz9BGPS8K6tKcTh7ru.VjW6I44l9/vVoI9Y2RYyMJsQfVRKRG"
AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"


def connected(port: int, **credentials) -> WireClient:
    """A raw client whose CONNECT (verbose off) was answered with PONG."""
    client = WireClient(port)
    client.connect(**credentials)
    assert client.read_until(b"\r\n") == b"PONG\r\n"
    return client


def login(user: str, password: str) -> dict:
    return {"user": user, "pass": password}


def refused_connect_output(port: int, **credentials) -> bytes:
    with WireClient(port) as client:
        client.connect(**credentials)
        return client.read_to_close()


# --- authentication -------------------------------------------------------------------------------------

TOKEN_CONFIG = 'authorization { token: "t0k3n" }'


def test_token_is_accepted(server_kind, server_factory):
    server = server_factory(server_kind, TOKEN_CONFIG)
    with connected(server.port, auth_token="t0k3n") as client:
        assert client.info["auth_required"] is True
        assert client.exchange(b"SUB a 1\r\nPUB a 2\r\nhi\r\n") == b"MSG a 1 2\r\nhi\r\nPONG\r\n"


@pytest.mark.parametrize("credentials", [{"auth_token": "wrong"}, {}], ids=["wrong-token", "no-token"])
def test_wrong_token_is_an_authorization_violation_then_close(server_kind, server_factory, credentials):
    server = server_factory(server_kind, TOKEN_CONFIG)
    assert refused_connect_output(server.port, **credentials) == AUTH_VIOLATION


PASSWORD_CONFIG = f"""
authorization {{
  users: [
    {{ user: plain, password: "pl4in" }}
    {{ user: hashed, password: "{SPEC_HASH}" }}
  ]
}}
"""


@pytest.mark.parametrize(
    "user, password", [("plain", "pl4in"), ("hashed", "s3cret")], ids=["plain-password", "bcrypt-password"]
)
def test_user_and_password_are_accepted(server_kind, server_factory, user, password):
    server = server_factory(server_kind, PASSWORD_CONFIG)
    with connected(server.port, **login(user, password)) as client:
        assert client.exchange(b"SUB a 1\r\nPUB a 1\r\nx\r\n") == b"MSG a 1 1\r\nx\r\nPONG\r\n"


@pytest.mark.parametrize(
    "credentials",
    [
        login("plain", "wrong"),
        login("hashed", "nope"),
        login("hashed", SPEC_HASH),
        login("nobody", "pl4in"),
        {"user": "plain"},
        {"auth_token": "pl4in"},
    ],
    ids=["wrong-plain", "wrong-bcrypt", "hash-as-password", "unknown-user", "no-password", "token"],
)
def test_wrong_credentials_are_an_authorization_violation_then_close(
    server_kind, server_factory, credentials
):
    server = server_factory(server_kind, PASSWORD_CONFIG)
    assert refused_connect_output(server.port, **credentials) == AUTH_VIOLATION


def test_single_user_from_the_config(server_kind, server_factory):
    server = server_factory(server_kind, "authorization { user: solo, password: s0l0 }")
    with connected(server.port, **login("solo", "s0l0")) as client:
        assert client.exchange(b"") == b"PONG\r\n"
    assert refused_connect_output(server.port, **login("solo", "x")) == AUTH_VIOLATION


def test_silence_until_the_auth_timeout(server_kind, server_factory):
    server = server_factory(server_kind, 'authorization { token: "t0k3n", timeout: 1 }')
    with WireClient(server.port) as client:
        assert client.read_to_close(timeout=10) == b"-ERR 'Authentication Timeout'\r\n"


def test_no_auth_user_lets_a_connect_without_credentials_in_as_that_user(server_kind, server_factory):
    server = server_factory(
        server_kind,
        """
        no_auth_user: guest
        authorization { users: [
          { user: guest, password: guestpw, permissions: { publish: "guest.>" } }
          { user: admin, password: adminpw }
        ] }
        """,
    )
    with connected(server.port) as guest:
        assert "auth_required" not in guest.info
        assert guest.exchange(b"SUB > 1\r\nPUB guest.x 1\r\n1\r\nPUB admin.x 1\r\n2\r\n") == (
            b"MSG guest.x 1 1\r\n1\r\n-ERR 'Permissions Violation for Publish to \"admin.x\"'\r\nPONG\r\n"
        )
    with connected(server.port, **login("admin", "adminpw")) as admin:
        assert admin.exchange(b"SUB a 1\r\nPUB a 1\r\n3\r\n") == b"MSG a 1 1\r\n3\r\nPONG\r\n"
    assert refused_connect_output(server.port, **login("admin", "wrong")) == AUTH_VIOLATION


# --- permissions ----------------------------------------------------------------------------------------

PETE_CONFIG = """
accounts {
  APP: {
    users: [
      { user: pete, password: petepw,
        permissions: { publish: { allow: "req.>", deny: "req.secret" }, subscribe: "foo.>" } }
      { user: watcher, password: watcherpw }
    ]
  }
}
"""


def test_user_pete_vector(server_kind, server_factory):
    server = server_factory(server_kind, PETE_CONFIG)
    with (
        connected(server.port, **login("watcher", "watcherpw")) as watcher,
        connected(server.port, **login("pete", "petepw")) as pete,
    ):
        assert watcher.exchange(b"SUB > 1\r\n") == b"PONG\r\n"
        answer = pete.exchange(
            b"SUB bar 1\r\nSUB foo.x q 2\r\nSUB foo.x 3\r\n"
            b"PUB req.secret 1\r\na\r\nPUB other 1\r\nb\r\nPUB req.ok 1\r\nc\r\nPUB foo.x 1\r\nd\r\n"
        )
        assert answer == (
            b"-ERR 'Permissions Violation for Subscription to \"bar\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"req.secret\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"other\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"foo.x\"'\r\n"
            b"PONG\r\n"
        )
        assert watcher.exchange(b"") == b"MSG req.ok 1 1\r\nc\r\nPONG\r\n"


def test_violations_do_not_close_the_connection(server_kind, server_factory):
    server = server_factory(server_kind, PETE_CONFIG)
    with connected(server.port, **login("pete", "petepw")) as pete:
        pete.exchange(b"SUB bar 1\r\nPUB other 1\r\nx\r\n")
        assert pete.exchange(b"SUB foo.y 5\r\nPUB req.y 1\r\nx\r\n") == b"PONG\r\n"


def perms_config(**permissions: str) -> str:
    """Users `limited` (with the given permission fields) and `free`, both in the global account."""
    fields = ", ".join(f"{key}: {value}" for key, value in permissions.items())
    return f"""
    authorization {{ users: [
      {{ user: limited, password: limitedpw, permissions: {{ {fields} }} }}
      {{ user: free, password: freepw }}
    ] }}
    """


def test_subscribe_subject_is_matched_as_a_literal(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(subscribe='"foo.*"'))
    with (
        connected(server.port, **login("limited", "limitedpw")) as limited,
        connected(server.port, **login("free", "freepw")) as free,
    ):
        assert limited.exchange(b"SUB foo.> 1\r\nSUB > 2\r\nSUB foo.x.y 3\r\nSUB foo.* 4\r\n") == (
            b"-ERR 'Permissions Violation for Subscription to \">\"'\r\n"
            b"-ERR 'Permissions Violation for Subscription to \"foo.x.y\"'\r\n"
            b"PONG\r\n"
        )
        free.exchange(b"PUB foo.x.y 1\r\n1\r\nPUB foo.z 1\r\n2\r\n")
        # `SUB foo.>` was admitted, and what it matches is delivered (allow lists filter no message).
        assert limited.exchange(b"") == (
            b"MSG foo.x.y 1 1\r\n1\r\nMSG foo.z 1 1\r\n2\r\nMSG foo.z 4 1\r\n2\r\nPONG\r\n"
        )


def test_queue_form_allow_entries(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(subscribe='["jobs v1", "tasks", "tasks t1"]'))
    with connected(server.port, **login("limited", "limitedpw")) as limited:
        assert limited.exchange(
            b"SUB jobs 1\r\nSUB jobs v2 2\r\nSUB jobs v1 3\r\n"
            b"SUB tasks 4\r\nSUB tasks t2 5\r\nSUB tasks t1 6\r\n"
        ) == (
            b"-ERR 'Permissions Violation for Subscription to \"jobs\"'\r\n"
            b'-ERR \'Permissions Violation for Subscription to "jobs" using queue "v2"\'\r\n'
            b'-ERR \'Permissions Violation for Subscription to "tasks" using queue "t2"\'\r\n'
            b"PONG\r\n"
        )


def test_deny_refuses_narrow_subscriptions_and_filters_wide_ones(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(subscribe='{ deny: ["*.secret", "audit.> g1"] }'))
    with (
        connected(server.port, **login("limited", "limitedpw")) as limited,
        connected(server.port, **login("free", "freepw")) as free,
    ):
        assert limited.exchange(
            b"SUB a.secret 1\r\nSUB audit.x g1 2\r\nSUB > 3\r\n"
            b"SUB a.* 4\r\nSUB audit.* g1 5\r\nSUB > g1 6\r\n"
        ) == (
            b"-ERR 'Permissions Violation for Subscription to \"a.secret\"'\r\n"
            b'-ERR \'Permissions Violation for Subscription to "audit.x" using queue "g1"\'\r\n'
            b'-ERR \'Permissions Violation for Subscription to "audit.*" using queue "g1"\'\r\n'
            b"PONG\r\n"
        )
        free.exchange(b"PUB a.secret 1\r\n1\r\nPUB a.public 1\r\n2\r\nPUB audit.x 1\r\n3\r\n")
        # The wide subscriptions were accepted; messages on denied subjects never reach them, and
        # `audit.x` is kept from queue group g1 only.
        assert limited.exchange(b"") == (
            b"MSG a.public 3 1\r\n2\r\nMSG a.public 4 1\r\n2\r\nMSG a.public 6 1\r\n2\r\n"
            b"MSG audit.x 3 1\r\n3\r\nPONG\r\n"
        )


def test_publish_wildcard_subject_is_a_literal_for_permissions(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(publish='{ allow: "foo.>", deny: "foo.*.no" }'))
    with connected(server.port, **login("limited", "limitedpw")) as limited:
        answers = limited.exchange(
            b"SUB > 1\r\nPUB foo.* 1\r\nx\r\nPUB foo.x.no 1\r\ny\r\nPUB foo.*.no 1\r\nz\r\n"
        )
        assert answers == (
            b"MSG foo.* 1 1\r\nx\r\n"
            b"-ERR 'Permissions Violation for Publish to \"foo.x.no\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"foo.*.no\"'\r\n"
            b"PONG\r\n"
        )


def test_reserved_queue_group_is_refused_even_without_permissions(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(publish='">"'))
    with connected(server.port, **login("free", "freepw")) as free:
        assert free.exchange(b"SUB foo _sys_ 1\r\n") == (
            b'-ERR \'Permissions Violation for Subscription to "foo" using queue "_sys_"\'\r\nPONG\r\n'
        )


def test_allow_responses_grants_one_answer_per_request(server_kind, server_factory):
    server = server_factory(server_kind, perms_config(subscribe='"svc.>"', allow_responses="true"))
    with (
        connected(server.port, **login("limited", "limitedpw")) as service,
        connected(server.port, **login("free", "freepw")) as requester,
    ):
        assert service.exchange(b"SUB svc.echo 1\r\nPUB elsewhere 1\r\nx\r\n") == (
            b"-ERR 'Permissions Violation for Publish to \"elsewhere\"'\r\nPONG\r\n"
        )
        requester.exchange(b"SUB _INBOX.a.* 7\r\nPUB svc.echo _INBOX.a.1 4\r\nping\r\n")
        assert service.read_until(b"ping\r\n") == b"MSG svc.echo 1 _INBOX.a.1 4\r\nping\r\n"
        answers = service.exchange(
            b"PUB _INBOX.a.1 4\r\npong\r\nPUB _INBOX.a.1 5\r\nagain\r\nPUB _INBOX.a.2 1\r\nx\r\n"
        )
        assert answers == (
            b"-ERR 'Permissions Violation for Publish to \"_INBOX.a.1\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"_INBOX.a.2\"'\r\n"
            b"PONG\r\n"
        )
        assert requester.exchange(b"") == b"MSG _INBOX.a.1 7 4\r\npong\r\nPONG\r\n"
