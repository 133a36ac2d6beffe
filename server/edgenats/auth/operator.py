"""Operator mode's trust anchors: the `operator` setting (operator JWTs, inline or in files) read into
the keys that may sign account JWTs, and the system account an operator names.

As nats-server reads them: a value that is not a readable file but starts like a JWT (`eyJ`) is the
JWT itself; a file may hold the bare token or the token between `nsc`'s armour lines; each operator
JWT must be self-signed or signed by one of its own signing keys. The accounts an operator trusts
are those whose JWT is issued by its key or by one of its `signing_keys`; with
`strict_signing_key_usage` only by a signing key, and their users only by one of the account's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import AuthConfigError
from .jwt_codec import JwtError, decode_jwt

# How every JWT's base64url header (`{"typ"...` or `{"alg"...`) starts.
_JWT_PREFIX = "eyJ"
_ARMOURED = re.compile(r"-{3,}[^\n]*BEGIN[^\n]*-{3,}\s*\n\s*(\S+)\s*\n")


@dataclass(frozen=True)
class Operator:
    """One trusted operator: its public key, name, signing keys and the system account it names."""

    key: str
    name: str
    signing_keys: tuple[str, ...]
    system_account: str
    token: str
    # `strict_signing_key_usage`: the operator's own key signs no account.
    strict: bool = False


@dataclass(frozen=True)
class TrustedOperators:
    """The operators a server trusts; `account_signers` may issue account JWTs."""

    operators: tuple[Operator, ...]

    @property
    def account_signers(self) -> frozenset[str]:
        return frozenset(key for operator in self.operators
                         for key in (*(() if operator.strict else (operator.key,)), *operator.signing_keys))

    @property
    def system_account(self) -> str:
        """The system account the operator JWTs name ("" when none does)."""
        return next((operator.system_account for operator in self.operators if operator.system_account), "")

    def trusts(self, issuer: str) -> bool:
        """Whether an account JWT issued by `issuer` comes from a trusted operator."""
        return issuer in self.account_signers

    def strict(self, issuer: str) -> bool:
        """Whether the operator that `issuer` (an account JWT's) signs for uses signing keys strictly."""
        return any(operator.strict and issuer in operator.signing_keys for operator in self.operators)


def _token_text(value: str) -> str:
    """The operator JWT a setting names: the file's token (armoured or bare), or the value itself."""
    from pathlib import Path  # operator mode only

    try:
        contents = Path(value).read_text()
    except OSError as error:
        if not value.startswith(_JWT_PREFIX):
            raise AuthConfigError(f"error parsing operator JWT: {error.strerror}: {value}") from None
        contents = value
    armoured = _ARMOURED.search(contents)
    return armoured.group(1) if armoured else contents.strip()


def _operator(value: object) -> Operator:
    if not isinstance(value, str) or not value:
        raise AuthConfigError(f"operator: expected a JWT or the path of a JWT file, got {value!r}")
    token = _token_text(value)
    try:
        claims = decode_jwt(token, "operator")
    except JwtError as error:
        raise AuthConfigError(f"error parsing operator JWT: {error}") from None
    nats = claims["nats"]
    signing_keys = tuple(key for key in nats.get("signing_keys") or () if isinstance(key, str))
    key = claims.get("sub", "")
    if claims["iss"] != key and claims["iss"] not in signing_keys:
        raise AuthConfigError("error parsing operator JWT: not signed by the operator or one of its signing keys")
    system_account = nats.get("system_account") or ""
    return Operator(key, str(claims.get("name", "")), signing_keys, str(system_account), token,
                    bool(nats.get("strict_signing_key_usage")))


def read_operators(value: object) -> TrustedOperators:
    """The `operator`/`operators` setting: one JWT or path, or a list of them; raises AuthConfigError."""
    values = value if isinstance(value, list | tuple) else [value]
    if not values:
        raise AuthConfigError("operator: expected at least one operator JWT")
    return TrustedOperators(tuple(_operator(entry) for entry in values))
