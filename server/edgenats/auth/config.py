"""Reading the `authorization { }` and `accounts { }` blocks into plain auth settings.

Checks what nats-server checks at start-up: shapes, field names, duplicate users and nkeys, public
nkeys that are not user keys, nkey users with a name or password, and the combinations it refuses
(token with users or a single user, a single user with a users list, a `no_auth_user` that names
nobody). Raises AuthConfigError with a message naming the block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .durations import seconds_from_config
from .errors import AuthConfigError
from .nkey_keys import user_key_bytes
from .permissions import Permissions

GLOBAL_ACCOUNT = "$G"
DEFAULT_AUTH_TIMEOUT = 2.0


@dataclass(frozen=True)
class UserEntry:
    """One configured user of a users list; an nkey user has its public key as name and `nkey` set."""

    name: str
    password: str
    account: str
    permissions: Permissions | None
    nkey: bool = False


@dataclass
class AuthSettings:
    """Everything the authenticator needs, already validated."""

    single_user: str = ""
    single_password: str = ""
    token: str = ""
    timeout: float = DEFAULT_AUTH_TIMEOUT
    users: dict[str, UserEntry] = field(default_factory=dict)
    # Nkey users by public key.
    nkey_users: dict[str, UserEntry] = field(default_factory=dict)
    no_auth_user: str = ""
    account_names: set[str] = field(default_factory=lambda: {GLOBAL_ACCOUNT})


def lower_keys(block: object, where: str) -> dict[str, object]:
    """A config block's fields by lower-cased name (config keys are case-insensitive); refuses a
    value that is not a block and a field given twice."""
    if not isinstance(block, dict):
        raise AuthConfigError(f"{where}: expected a map, got {block!r}")
    lowered: dict[str, object] = {}
    for key, value in block.items():
        name = str(key).lower()
        if name in lowered:
            raise AuthConfigError(f"{where}: field {key!r} given twice")
        lowered[name] = value
    return lowered


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise AuthConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _permissions(value: object, where: str) -> Permissions:
    """`where`: the path of the permissions block itself (errors that start `permissions` get it instead)."""
    try:
        return Permissions.from_config(value)  # type: ignore[arg-type]
    except AuthConfigError as error:
        text = str(error)
        if text.startswith("permissions"):
            raise AuthConfigError(where + text.removeprefix("permissions")) from None
        raise AuthConfigError(f"{where}: {text}") from None


def _parse_user(entry: object, where: str, account: str, account_field_allowed: bool) -> UserEntry:
    fields = lower_keys(entry, where)
    name = ""
    password = ""
    nkey = ""
    permissions: Permissions | None = None
    for key, value in fields.items():
        if key in ("user", "username"):
            name = _string(value, f"{where}.{key}")
        elif key in ("pass", "password"):
            password = _string(value, f"{where}.{key}")
        elif key in ("permission", "permissions", "authorization"):
            permissions = _permissions(value, f"{where}.{key}")
        elif key == "account" and account_field_allowed:
            account = _string(value, f"{where}.account")
            if not account:
                raise AuthConfigError(f"{where}: account must not be empty")
        elif key == "nkey":
            nkey = _string(value, f"{where}.nkey")
        else:
            raise AuthConfigError(f"{where}: unknown field {key!r}")
    if nkey:
        if name or password:
            raise AuthConfigError(f"{where}: Nkey users do not take usernames or passwords")
        if user_key_bytes(nkey) is None:
            raise AuthConfigError(f"{where}: Not a valid public nkey for a user")
        return UserEntry(nkey, "", account, permissions, nkey=True)
    if not name:
        raise AuthConfigError(f"{where}: user entry requires a user")
    return UserEntry(name, password, account, permissions)


def _parse_users(
    value: object, where: str, account: str, defaults: Permissions | None, account_field_allowed: bool
) -> list[UserEntry]:
    if not isinstance(value, list | tuple):
        raise AuthConfigError(f"{where}: expected users to be an array, got {value!r}")
    users = []
    problems = []
    for index, entry in enumerate(value):
        try:
            user = _parse_user(entry, f"{where}[{index}]", account, account_field_allowed)
        except AuthConfigError as error:  # every user's mistake is reported, not only the first
            problems.append(str(error))
            continue
        if user.permissions is None and defaults is not None:
            user = UserEntry(user.name, user.password, user.account, defaults, user.nkey)
        users.append(user)
    if problems:
        raise AuthConfigError("\n".join(problems))
    return users


def _add_users(settings: AuthSettings, users: list[UserEntry], where: str) -> None:
    for user in users:
        registry, kind = (settings.nkey_users, "nkey") if user.nkey else (settings.users, "user")
        if user.name in registry:
            raise AuthConfigError(f"{where}: duplicate {kind} {user.name!r}")
        registry[user.name] = user
        settings.account_names.add(user.account)


def _parse_authorization(block: object, settings: AuthSettings, default_timeout: float) -> None:
    where = "authorization"
    fields = lower_keys(block, where)
    defaults: Permissions | None = None
    for key in ("default_permissions", "default_permission", "permissions"):
        if key in fields:
            defaults = _permissions(fields[key], f"{where}.{key}")
    problems = []
    for key, value in fields.items():
        try:
            _apply_authorization_field(settings, key, value, where, defaults, default_timeout)
        except AuthConfigError as error:  # every field's mistake is reported, not only the first
            problems.append(str(error))
    if problems:
        raise AuthConfigError("\n".join(problems))


def _apply_authorization_field(settings: AuthSettings, key: str, value: object, where: str,
                               defaults: Permissions | None, default_timeout: float) -> None:
    if key in ("user", "username"):
        settings.single_user = _string(value, f"{where}.{key}")
    elif key in ("pass", "password"):
        settings.single_password = _string(value, f"{where}.{key}")
    elif key == "token":
        settings.token = _string(value, f"{where}.token")
    elif key == "timeout":
        timeout = seconds_from_config(value, f"{where}.timeout")
        if timeout < 0:
            raise AuthConfigError(f"{where}.timeout: must not be negative, got {value!r}")
        settings.timeout = timeout or default_timeout
    elif key == "users":
        users = _parse_users(value, f"{where}.users", GLOBAL_ACCOUNT, defaults, True)
        _add_users(settings, users, f"{where}.users")
    elif key not in ("default_permissions", "default_permission", "permissions"):
        raise AuthConfigError(f"{where}: unknown field {key!r}")


def _parse_accounts(block: object, settings: AuthSettings) -> None:
    """Account names and their users; other account fields (imports, exports, ...) belong elsewhere."""
    if isinstance(block, list | tuple):
        for name in block:
            settings.account_names.add(account_name(name))
        return
    if not isinstance(block, dict):
        raise AuthConfigError(f"accounts: expected a map or an array of names, got {block!r}")
    for name, account_block in block.items():
        account = account_name(name)
        where = f"accounts.{account}"
        settings.account_names.add(account)
        fields = lower_keys(account_block, where)
        defaults = None
        if "default_permissions" in fields:
            defaults = _permissions(fields["default_permissions"], f"{where}.default_permissions")
        if "users" in fields:
            users = _parse_users(fields["users"], f"{where}.users", account, defaults, False)
            _add_users(settings, users, f"{where}.users")


def account_name(name: object) -> str:
    """A configured account name; the global account `$G` is reserved."""
    if not isinstance(name, str) or not name:
        raise AuthConfigError(f"accounts: account names must be non-empty strings, got {name!r}")
    if name == GLOBAL_ACCOUNT:
        raise AuthConfigError(f"accounts: {name!r} is a reserved account")
    return name


def _check_combinations(settings: AuthSettings) -> None:
    has_users = bool(settings.users or settings.nkey_users)
    if settings.single_password and not settings.single_user:
        raise AuthConfigError("authorization: password given without user")
    if settings.token and settings.single_user:
        raise AuthConfigError("authorization: user/password and token cannot be combined")
    if has_users and settings.token:
        raise AuthConfigError("authorization: token and users cannot be combined")
    if has_users and settings.single_user:
        raise AuthConfigError("authorization: a single user and a users list cannot be combined")
    if settings.no_auth_user:
        if not has_users:
            raise AuthConfigError(
                f"no_auth_user: {settings.no_auth_user!r} present, but users are not defined"
            )
        if settings.no_auth_user not in settings.users and settings.no_auth_user not in settings.nkey_users:
            raise AuthConfigError(
                f"no_auth_user: {settings.no_auth_user!r} not present as user in authorization block "
                "or account configuration"
            )


def parse_auth_settings(
    authorization: dict | None,
    accounts: dict | list | None = None,
    no_auth_user: str | None = None,
    cli_user: str | None = None,
    cli_password: str | None = None,
    cli_token: str | None = None,
    default_timeout: float = DEFAULT_AUTH_TIMEOUT,
) -> AuthSettings:
    """Validated settings from the config blocks; command-line credentials replace the file's.
    `default_timeout`: the auth timeout unless the block sets one (nats-server's is longer with TLS)."""
    settings = AuthSettings(timeout=default_timeout)
    if authorization is not None:
        _parse_authorization(authorization, settings, default_timeout)
    if accounts is not None:
        _parse_accounts(accounts, settings)
    if cli_user:
        settings.single_user = cli_user
        settings.single_password = cli_password or ""
    elif cli_password:
        settings.single_password = cli_password
    if cli_token:
        settings.token = cli_token
    if no_auth_user is not None:
        settings.no_auth_user = _string(no_auth_user, "no_auth_user")
    _check_combinations(settings)
    return settings
