"""Authentication and permissions for client connections: pure logic, no I/O and no server state.

The connection calls `Authenticator.authenticate` on CONNECT and the user's `Permissions` on every
PUB/SUB and delivery; `ReplyAllowance` tracks `allow_responses` grants per connection.
"""

from .authenticator import AuthenticatedUser, Authenticator
from .errors import AuthConfigError
from .passwords import is_bcrypt_hash, verify_password
from .permissions import RESERVED_QUEUE_GROUP, Permissions, ResponsePermission, SubjectRule
from .responses import ReplyAllowance

__all__ = [
    "RESERVED_QUEUE_GROUP",
    "AuthConfigError",
    "AuthenticatedUser",
    "Authenticator",
    "Permissions",
    "ReplyAllowance",
    "ResponsePermission",
    "SubjectRule",
    "is_bcrypt_hash",
    "verify_password",
]
