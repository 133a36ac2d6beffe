"""Deciding who a CONNECT is: nkey (its signature of the connection's nonce), then the user a client
certificate maps to (TLS `verify_and_map`), then user/password, then token, as nats-server checks them;
in operator mode only a user JWT (`jwt_login.JwtLogin`).

`Authenticator.authenticate` returns the AuthenticatedUser (name, account, permissions) or None,
which the connection answers with `-ERR 'Authorization Violation'` and a close; `failure_detail`
names what the refused CONNECT offered, for nats-server's log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenats.protocol.framing import go_quote

from .config import DEFAULT_AUTH_TIMEOUT, GLOBAL_ACCOUNT, AuthSettings, UserEntry, parse_auth_settings
from .identity import STANDARD, AuthenticatedUser
from .nkey_keys import signature_valid
from .passwords import verify_password

if TYPE_CHECKING:
    # Only TLS clients with verify_and_map have one, and only operator mode a JwtLogin: the X.509 code,
    # and the JWT login's time zone and address code, are loaded for them alone.
    from .certificates import ClientCertificate
    from .jwt_login import JwtLogin


ANONYMOUS = AuthenticatedUser("", GLOBAL_ACCOUNT, None)


def _credential(connect: dict, key: str) -> str | None:
    """A CONNECT credential field; None when it is there but not a string."""
    value = connect.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else None


class Authenticator:
    """Checks CONNECT credentials against the configured users, single user or token."""

    def __init__(self, settings: AuthSettings, jwt_login: JwtLogin | None = None) -> None:
        """With `jwt_login` (operator mode) only user JWTs log in."""
        self._settings = settings
        self._jwt_login = jwt_login
        self.timeout: float = settings.timeout
        self._credentials_configured = bool(
            settings.users or settings.nkey_users or settings.single_user or settings.token
        )
        self.auth_required: bool = jwt_login is not None or (
            self._credentials_configured and not settings.no_auth_user)
        # With nkey users or JWTs every INFO carries a nonce for the client to sign.
        self.nonce_required: bool = jwt_login is not None or bool(settings.nkey_users)

    @classmethod
    def from_config(
        cls,
        authorization: dict | None,
        accounts: dict | None = None,
        no_auth_user: str | None = None,
        cli_user: str | None = None,
        cli_password: str | None = None,
        cli_token: str | None = None,
        default_timeout: float = DEFAULT_AUTH_TIMEOUT,
        jwt_login: JwtLogin | None = None,
    ) -> Authenticator:
        """Build from the parsed `authorization` and `accounts` blocks; raises AuthConfigError."""
        return cls(
            parse_auth_settings(authorization, accounts, no_auth_user, cli_user, cli_password, cli_token,
                                default_timeout),
            jwt_login,
        )

    def account_names(self) -> set[str]:
        """Every account the auth config mentions, always including the global account `$G`."""
        return set(self._settings.account_names)

    def authenticate(self, connect: dict, nonce: str = "", certificate: ClientCertificate | None = None,
                     host: str = "", connection_type: str = STANDARD) -> AuthenticatedUser | None:
        """The user a CONNECT (as a JSON dict) authenticates as, or None for an Authorization Violation.
        `nonce` is the one the connection's INFO carried ("" when it carried none); `certificate`: the
        client's, when the client port maps certificates to users (`verify_and_map`); `host` and
        `connection_type` (STANDARD, WEBSOCKET) are what a user JWT's `src` and
        `allowed_connection_types` restrict."""
        # The legacy account fields are refused even when no auth is configured.
        if connect.get("account") or connect.get("new_account"):
            return None
        if self._jwt_login is not None:
            return self._jwt_login.authenticate(connect, nonce, host, connection_type)
        if not self._credentials_configured:
            return ANONYMOUS
        user_name = _credential(connect, "user")
        password = _credential(connect, "pass")
        token = _credential(connect, "auth_token")
        nkey = _credential(connect, "nkey")
        sig = _credential(connect, "sig")
        if user_name is None or password is None or token is None or nkey is None or sig is None:
            return None
        settings = self._settings
        if settings.nkey_users and nkey:
            user = settings.nkey_users.get(nkey)
            if user is None or not nonce or not signature_valid(nkey, nonce, sig):
                return None
            return _authenticated(user)
        if settings.users and certificate is not None:
            # The certificate names the user; a user in CONNECT is ignored, a configured password still checked.
            user = certificate.find_user(settings.users)
            if user is None or not verify_password(user.password, password):
                return None
            return _authenticated(user)
        if settings.no_auth_user and not (user_name or password or token or nkey):
            user = settings.users.get(settings.no_auth_user) or settings.nkey_users[settings.no_auth_user]
            return _authenticated(user)
        if settings.users:
            if user_name:
                user = settings.users.get(user_name)
                if user is None or not verify_password(user.password, password):
                    return None
                return _authenticated(user)
        if settings.token:
            return ANONYMOUS if verify_password(settings.token, token) else None
        if settings.single_user:
            if user_name != settings.single_user or not verify_password(settings.single_password, password):
                return None
            return AuthenticatedUser(settings.single_user, GLOBAL_ACCOUNT, None)
        return None

    def revoked(self, connect: dict) -> bool:
        """Whether a CONNECT's user JWT is revoked by its account (operator mode)."""
        return self._jwt_login is not None and self._jwt_login.revoked(connect)

    @staticmethod
    def failure_detail(connect: dict) -> str:
        """What a refused CONNECT offered, as nats-server logs it after `authentication error`:
        ` - Nkey "<key>"`, ` - User "<name>"`, ` - Token "[REDACTED]"`, or nothing."""
        for field, label in (("nkey", "Nkey"), ("user", "User")):
            value = connect.get(field)
            if isinstance(value, str) and value:
                return f" - {label} {go_quote(value)}"
        token = connect.get("auth_token")
        return ' - Token "[REDACTED]"' if isinstance(token, str) and token else ""


def _authenticated(user: UserEntry) -> AuthenticatedUser:
    return AuthenticatedUser(user.name, user.account, user.permissions)
