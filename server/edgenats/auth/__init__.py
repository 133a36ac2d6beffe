"""Authentication and permissions for client connections: pure logic, no I/O and no server state.

The connection calls `Authenticator.authenticate` on CONNECT (with the nonce its INFO carried, made by
`new_nonce` when nkey users exist) and the user's `Permissions` on every PUB/SUB and delivery;
`ReplyAllowance` tracks `allow_responses` grants per connection; the server's `LoginGuard` bounds the
connections that have not logged in and slows repeated failures.
"""

from .authenticator import Authenticator
from .errors import AuthConfigError
from .identity import AuthenticatedUser, JwtIdentity
from .login_guard import LoginGuard, LoginState
from .nkey_keys import new_nonce
from .passwords import is_bcrypt_hash, verify_password
from .permissions import RESERVED_QUEUE_GROUP, Permissions, ResponsePermission, SubjectRule
from .responses import ReplyAllowance

__all__ = [
    "RESERVED_QUEUE_GROUP",
    "AuthConfigError",
    "AuthenticatedUser",
    "Authenticator",
    "JwtIdentity",
    "LoginGuard",
    "LoginState",
    "Permissions",
    "ReplyAllowance",
    "ResponsePermission",
    "SubjectRule",
    "is_bcrypt_hash",
    "new_nonce",
    "verify_password",
]
