"""A SIGHUP in operator mode on both brokers: the reloaded `resolver_preload` applies to connected
users at once (a revocation added to the account JWT closes that user's session with `User
Authentication Revoked`), and the users it does not touch stay connected."""

from __future__ import annotations

import signal
import time

from auth_wire import WireClient
from jwt_mint import Operator, account_key, user_jwt, user_key


def test_a_revocation_in_the_reloaded_preload_closes_that_users_session(server_kind, server_factory):
    operator = Operator()
    account = account_key()
    operator.add_account(account, "A")
    server = server_factory(server_kind, operator.config())
    revoked, kept = user_key(), user_key()
    issued = int(time.time()) - 5
    with WireClient(server.port) as first, WireClient(server.port) as second:
        first.connect(jwt=user_jwt(revoked, account, iat=issued), sig=revoked.sign(first.info["nonce"]))
        second.connect(jwt=user_jwt(kept, account, iat=issued), sig=kept.sign(second.info["nonce"]))
        assert first.read_line() == second.read_line() == b"PONG"
        operator.add_account(account, "A", revocations={revoked.public: issued})
        server.config_path.write_text(operator.config())
        server.process.send_signal(signal.SIGHUP)
        assert first.read_to_close() == b"-ERR 'User Authentication Revoked'\r\n"
        assert second.exchange(b"").endswith(b"PONG\r\n")
