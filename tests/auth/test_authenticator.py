"""Authenticator: config blocks in, CONNECT credentials checked, the right user and account out."""

import base64

import bcrypt
import pytest
from edgenats.auth import AuthConfigError, AuthenticatedUser, Authenticator, Permissions
from edgenats.conf import parse_config_text

SPEC_HASH = "$2b$11$KFcDaz9BGPS8K6tKcTh7ru.VjW6I44l9/vVoI9Y2RYyMJsQfVRKRG"
# A throw-away user key and the signature of nonce "abcdefghijklmno" it makes (the reference vector).
SEED = "SUAMV4MF2HOGRJW2EFGGQQVOPQUDICKF7TSWKCDTEIS5HUYUU5GP3GR52U"
PUBLIC = "UAULX644PYVUVVSJRJCKBJSKICUNTYVLBC6XM4CXWZUP6P2WTPP4SC4S"
NONCE = "abcdefghijklmno"
SIG = "EUNSPwrHsIHEt37-AZA1wQVJiw6Oens5gxXZLnXUF4CHtNjvHcP8qGa-u7xhWC6mJmUanMczOgoH9dxjj1DuAQ"


def authenticator_from_text(text: str, **cli) -> Authenticator:
    """Build from config text read by the real config reader, as the broker does."""
    config = parse_config_text(text)
    return Authenticator.from_config(
        config.get("authorization"), config.get("accounts"), config.get("no_auth_user"), **cli
    )


class TestNoAuth:
    def test_everyone_is_anonymous_in_the_global_account(self):
        authenticator = Authenticator.from_config(None)
        assert not authenticator.auth_required
        assert authenticator.authenticate({}) == AuthenticatedUser("", "$G", None)

    def test_credentials_are_ignored(self):
        authenticator = Authenticator.from_config({})
        assert authenticator.authenticate({"user": "x", "pass": "y", "auth_token": "z"}) is not None

    @pytest.mark.parametrize("connect", [{"account": "A"}, {"new_account": True}])
    def test_legacy_account_fields_are_a_violation(self, connect):
        assert Authenticator.from_config(None).authenticate(connect) is None

    def test_default_timeout_is_two_seconds(self):
        assert Authenticator.from_config(None).timeout == 2.0


class TestToken:
    def test_right_token_is_accepted(self):
        authenticator = authenticator_from_text('authorization { token: "t0k3n" }')
        assert authenticator.auth_required
        assert authenticator.authenticate({"auth_token": "t0k3n"}) == AuthenticatedUser("", "$G", None)

    @pytest.mark.parametrize("connect", [{}, {"auth_token": "wrong"}, {"auth_token": 5}, {"user": "t0k3n"}])
    def test_anything_else_is_refused(self, connect):
        assert authenticator_from_text('authorization { token: "t0k3n" }').authenticate(connect) is None

    def test_token_may_be_a_bcrypt_hash(self):
        authenticator = Authenticator.from_config({"token": SPEC_HASH})
        assert authenticator.authenticate({"auth_token": "s3cret"}) is not None
        assert authenticator.authenticate({"auth_token": SPEC_HASH}) is None

    def test_command_line_token_replaces_the_files(self):
        authenticator = authenticator_from_text('authorization { token: "file" }', cli_token="flag")
        assert authenticator.authenticate({"auth_token": "flag"}) is not None
        assert authenticator.authenticate({"auth_token": "file"}) is None


class TestSingleUser:
    def test_right_user_and_password(self):
        authenticator = authenticator_from_text("authorization { user: u, password: p }")
        assert authenticator.authenticate({"user": "u", "pass": "p"}) == AuthenticatedUser("u", "$G", None)

    @pytest.mark.parametrize(
        "connect", [{}, {"user": "u"}, {"user": "u", "pass": "x"}, {"user": "v", "pass": "p"}, {"pass": "p"}]
    )
    def test_wrong_or_missing_credentials(self, connect):
        authenticator = authenticator_from_text("authorization { username: u, pass: p }")
        assert authenticator.authenticate(connect) is None

    def test_bcrypt_password(self):
        authenticator = authenticator_from_text(f'authorization {{ user: u, password: "{SPEC_HASH}" }}')
        assert authenticator.authenticate({"user": "u", "pass": "s3cret"}) is not None
        assert authenticator.authenticate({"user": "u", "pass": "nope"}) is None

    def test_default_permissions_do_not_apply_to_the_single_user_as_in_nats_server(self):
        authenticator = authenticator_from_text(
            'authorization { user: u, password: p, default_permissions: { publish: "x" } }'
        )
        assert authenticator.authenticate({"user": "u", "pass": "p"}).permissions is None

    def test_command_line_user_replaces_the_files(self):
        authenticator = authenticator_from_text(
            "authorization { user: file, password: filepw }", cli_user="flag", cli_password="flagpw"
        )
        assert authenticator.authenticate({"user": "flag", "pass": "flagpw"}) is not None
        assert authenticator.authenticate({"user": "file", "pass": "filepw"}) is None

    def test_command_line_user_without_any_config(self):
        authenticator = Authenticator.from_config(None, cli_user="u", cli_password="p")
        assert authenticator.auth_required
        assert authenticator.authenticate({"user": "u", "pass": "p"}).name == "u"


USERS_CONFIG = """
authorization {
  default_permissions: { publish: "public.>" }
  users: [
    { user: alice, password: "%s" }
    { user: bob, password: bobpw, permissions: { subscribe: "bob.>" } }
  ]
}
accounts {
  TEAM: {
    default_permissions: { subscribe: "team.>" }
    users: [ { user: carol, password: carolpw }, { user: dave, password: davepw, permissions: {} } ]
  }
  EMPTY: {}
}
"""


class TestUsers:
    @pytest.fixture
    def authenticator(self):
        low_cost = bcrypt.hashpw(b"alicepw", bcrypt.gensalt(rounds=4)).decode()
        return authenticator_from_text(USERS_CONFIG % low_cost)

    def test_auth_is_required(self, authenticator):
        assert authenticator.auth_required

    def test_users_of_the_authorization_block_are_in_the_global_account(self, authenticator):
        alice = authenticator.authenticate({"user": "alice", "pass": "alicepw"})
        assert (alice.name, alice.account) == ("alice", "$G")

    def test_users_of_an_account_block_are_in_that_account(self, authenticator):
        carol = authenticator.authenticate({"user": "carol", "pass": "carolpw"})
        assert (carol.name, carol.account) == ("carol", "TEAM")

    @pytest.mark.parametrize(
        "connect",
        [
            {"user": "alice", "pass": "wrong"},
            {"user": "alice"},
            {"user": "nobody", "pass": "alicepw"},
            {"user": "carol", "pass": "bobpw"},
            {"pass": "alicepw"},
            {"auth_token": "alicepw"},
            {},
        ],
    )
    def test_bad_credentials_are_refused(self, authenticator, connect):
        assert authenticator.authenticate(connect) is None

    def test_block_default_permissions_apply_to_users_without_their_own(self, authenticator):
        alice = authenticator.authenticate({"user": "alice", "pass": "alicepw"})
        assert alice.permissions.can_publish("public.news")
        assert not alice.permissions.can_publish("private")

    def test_own_permissions_replace_the_defaults(self, authenticator):
        bob = authenticator.authenticate({"user": "bob", "pass": "bobpw"})
        assert bob.permissions.can_publish("private")
        assert bob.permissions.can_subscribe("bob.x")
        assert not bob.permissions.can_subscribe("public.x")

    def test_account_default_permissions_apply_to_that_accounts_users(self, authenticator):
        carol = authenticator.authenticate({"user": "carol", "pass": "carolpw"})
        assert carol.permissions.can_subscribe("team.x")
        assert not carol.permissions.can_subscribe("other")
        dave = authenticator.authenticate({"user": "dave", "pass": "davepw"})
        assert dave.permissions.can_subscribe("other")

    def test_account_names_include_every_account_and_the_global_one(self, authenticator):
        assert authenticator.account_names() == {"$G", "TEAM", "EMPTY"}

    def test_user_of_the_authorization_block_may_name_an_account(self):
        authenticator = Authenticator.from_config(
            {"users": [{"user": "u", "password": "p", "account": "SENSORS"}]}, {"SENSORS": {}}
        )
        assert authenticator.authenticate({"user": "u", "pass": "p"}).account == "SENSORS"

    def test_account_list_form_declares_names(self):
        authenticator = Authenticator.from_config(None, ["A", "B"])
        assert authenticator.account_names() == {"$G", "A", "B"}
        assert not authenticator.auth_required

    def test_keys_in_any_case(self):
        authenticator = Authenticator.from_config(
            {"USERS": [{"User": "u", "PassWord": "p", "Permissions": {"Publish": "x"}}], "Timeout": 3}
        )
        user = authenticator.authenticate({"user": "u", "pass": "p"})
        assert user.permissions.can_publish("x") and not user.permissions.can_publish("y")
        assert authenticator.timeout == 3.0


class TestNoAuthUser:
    CONFIG = """
    no_auth_user: guest
    authorization { users: [ { user: guest, password: guestpw, permissions: { publish: "guest.>" } },
                             { user: admin, password: adminpw } ] }
    """

    def test_lifts_auth_required(self):
        assert not authenticator_from_text(self.CONFIG).auth_required

    def test_connect_without_credentials_becomes_that_user(self):
        guest = authenticator_from_text(self.CONFIG).authenticate({"verbose": False})
        assert guest.name == "guest"
        assert guest.permissions.can_publish("guest.x") and not guest.permissions.can_publish("x")

    def test_connect_with_credentials_is_checked_normally(self):
        authenticator = authenticator_from_text(self.CONFIG)
        assert authenticator.authenticate({"user": "admin", "pass": "adminpw"}).name == "admin"
        assert authenticator.authenticate({"user": "admin", "pass": "wrong"}) is None
        assert authenticator.authenticate({"pass": "guestpw"}) is None

    def test_works_when_that_users_password_is_a_bcrypt_hash(self):
        # nats-server v2.15.1 refuses this case (it compares the hash with itself); we let the user in,
        # which is what no_auth_user is for.
        users = {"users": [{"user": "g", "password": SPEC_HASH}]}
        authenticator = Authenticator.from_config(users, None, "g")
        assert authenticator.authenticate({}).name == "g"

    def test_may_name_a_user_of_an_account(self):
        authenticator = Authenticator.from_config(
            None, {"A": {"users": [{"user": "g", "password": "x"}]}}, no_auth_user="g"
        )
        assert authenticator.authenticate({}) == AuthenticatedUser("g", "A", None)


class TestNkeyUsers:
    CONFIG = f"""authorization {{ users: [
      {{ user: a, password: b }}
      {{ nkey: {PUBLIC}, permissions: {{ publish: "ok.>" }} }}
    ] }}"""

    def test_signature_of_the_nonce_logs_in_with_the_users_permissions(self):
        user = authenticator_from_text(self.CONFIG).authenticate({"nkey": PUBLIC, "sig": SIG}, NONCE)
        assert user.name == PUBLIC and user.account == "$G"
        assert user.permissions.can_publish("ok.1") and not user.permissions.can_publish("no")

    def test_standard_base64_signature_is_accepted_too(self):
        padded = base64.b64encode(base64.urlsafe_b64decode(SIG + "==")).decode()
        assert authenticator_from_text(self.CONFIG).authenticate({"nkey": PUBLIC, "sig": padded}, NONCE)

    @pytest.mark.parametrize(
        "connect, nonce",
        [
            ({"nkey": PUBLIC, "sig": SIG}, "another-nonce!!"),
            ({"nkey": PUBLIC, "sig": SIG}, ""),
            ({"nkey": PUBLIC}, NONCE),
            ({"nkey": PUBLIC, "sig": "!!"}, NONCE),
            ({"nkey": "U" + PUBLIC[1:-1] + "A", "sig": SIG}, NONCE),
            ({"nkey": PUBLIC, "sig": SIG[:-4]}, NONCE),
            # The nkey decides: a right password beside a bad signature does not help.
            ({"nkey": PUBLIC, "user": "a", "pass": "b"}, NONCE),
        ],
        ids=["other-nonce", "no-nonce", "no-sig", "not-base64", "unknown-key", "short-sig", "password-too"],
    )
    def test_anything_else_is_refused(self, connect, nonce):
        assert authenticator_from_text(self.CONFIG).authenticate(connect, nonce) is None

    def test_password_users_beside_nkey_users_still_log_in(self):
        assert authenticator_from_text(self.CONFIG).authenticate({"user": "a", "pass": "b"}, NONCE).name == "a"

    def test_only_nkey_users_need_a_nonce(self):
        assert authenticator_from_text(self.CONFIG).nonce_required
        assert not authenticator_from_text("authorization { users: [{user: a, password: b}] }").nonce_required

    def test_an_nkey_user_can_be_the_no_auth_user(self):
        authenticator = authenticator_from_text(self.CONFIG + f"\nno_auth_user: {PUBLIC}")
        assert authenticator.authenticate({}, NONCE).name == PUBLIC

    @pytest.mark.parametrize(
        "connect, detail",
        [
            ({"nkey": PUBLIC, "user": "a"}, f' - Nkey "{PUBLIC}"'),
            ({"user": "a", "auth_token": "t"}, ' - User "a"'),
            ({"auth_token": "t"}, ' - Token "[REDACTED]"'),
            ({}, ""),
        ],
    )
    def test_failure_detail_names_what_was_offered_as_nats_server_logs_it(self, connect, detail):
        assert Authenticator.failure_detail(connect) == detail


class TestTimeout:
    @pytest.mark.parametrize(
        "value, seconds", [(1, 1.0), (2.5, 2.5), ("500ms", 0.5), ("1m30s", 90.0), (0, 2.0)]
    )
    def test_accepted_forms(self, value, seconds):
        assert Authenticator.from_config({"token": "t", "timeout": value}).timeout == seconds

    @pytest.mark.parametrize("value", ["soon", True, [1], -1])
    def test_rejected_forms(self, value):
        with pytest.raises(AuthConfigError, match="authorization.timeout"):
            Authenticator.from_config({"token": "t", "timeout": value})


@pytest.mark.parametrize(
    "authorization, accounts, no_auth_user, message",
    [
        ("not a map", None, None, "authorization: expected a map"),
        ({"token": "t", "users": [{"user": "u"}]}, None, None, "token and users cannot be combined"),
        ({"token": "t", "user": "u"}, None, None, "user/password and token cannot be combined"),
        ({"token": "t", "password": "p"}, None, None, "password given without user"),
        ({"user": "u", "users": [{"user": "v"}]}, None, None, "single user and a users list"),
        ({"token": "t"}, {"A": {"users": [{"user": "u"}]}}, None, "token and users cannot be combined"),
        ({"users": {"user": "u"}}, None, None, "expected users to be an array"),
        ({"users": ["u"]}, None, None, "authorization.users[0]: expected a map"),
        ({"users": [{"password": "p"}]}, None, None, "user entry requires a user"),
        ({"users": [{"user": "u", "group": "g"}]}, None, None, "unknown field 'group'"),
        ({"users": [{"user": 5}]}, None, None, "authorization.users[0].user: expected a string"),
        ({"users": [{"nkey": "UAB"}]}, None, None, "users[0]: Not a valid public nkey for a user"),
        ({"users": [{"nkey": SEED}]}, None, None, "Not a valid public nkey for a user"),
        ({"users": [{"nkey": PUBLIC, "password": "p"}]}, None, None, "Nkey users do not take usernames"),
        ({"users": [{"nkey": PUBLIC}]}, {"A": {"users": [{"nkey": PUBLIC}]}}, None, f"duplicate nkey {PUBLIC!r}"),
        ({"token": "t"}, {"A": {"users": [{"nkey": PUBLIC}]}}, None, "token and users cannot be combined"),
        ({"users": [{"user": "u"}, {"user": "u"}]}, None, None, "duplicate user 'u'"),
        ({"users": [{"user": "u"}]}, {"A": {"users": [{"user": "u"}]}}, None, "duplicate user 'u'"),
        (
            {"users": [{"user": "u", "permissions": {"publish": "a..b"}}]},
            None,
            None,
            "authorization.users[0].permissions: publish allow: subject 'a..b' is not a valid",
        ),
        ({"default_permissions": "x"}, None, None, "authorization.default_permissions"),
        ({"tokens": "t"}, None, None, "authorization: unknown field 'tokens'"),
        (None, {"A": "x"}, None, "accounts.A: expected a map"),
        (None, {"$G": {}}, None, "reserved account"),
        (None, "A", None, "accounts: expected a map or an array"),
        (None, {"A": {"users": [{"user": "u", "account": "B"}]}}, None, "unknown field 'account'"),
        ({"token": "t"}, None, "guest", "users are not defined"),
        ({"users": [{"user": "u"}]}, None, "guest", "'guest' not present as user"),
    ],
)
def test_config_errors_name_the_problem(authorization, accounts, no_auth_user, message):
    with pytest.raises(AuthConfigError) as caught:
        Authenticator.from_config(authorization, accounts, no_auth_user)
    assert message in str(caught.value)


def test_command_line_user_conflicts_with_a_users_list():
    with pytest.raises(AuthConfigError, match="single user and a users list"):
        Authenticator.from_config({"users": [{"user": "u"}]}, cli_user="x", cli_password="y")


def test_permissions_object_is_shared_by_users_with_the_same_defaults():
    authenticator = Authenticator.from_config(
        {"default_permissions": {"publish": "x"}, "users": [{"user": "a"}, {"user": "b"}]}
    )
    first = authenticator.authenticate({"user": "a"}).permissions
    second = authenticator.authenticate({"user": "b"}).permissions
    assert isinstance(first, Permissions) and first is second
