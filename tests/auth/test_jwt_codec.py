"""NATS JWT text: tokens made by `encode_jwt` decode to their claims, nats-py's `.creds` layout reads
back, and a token that was altered, is of another kind or is signed by the wrong kind of key is refused."""

from __future__ import annotations

import os

import nkeys
import pytest
from edgenats.auth.jwt_codec import JwtError, decode_jwt, encode_jwt, format_creds, parse_creds


def _new_key(prefix: int) -> tuple[bytes, str]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed, nkeys.from_seed(bytearray(seed)).public_key.decode()


ACCOUNT_SEED, ACCOUNT_KEY = _new_key(nkeys.PREFIX_BYTE_ACCOUNT)
USER_SEED, USER_KEY = _new_key(nkeys.PREFIX_BYTE_USER)


def _user_jwt() -> str:
    return encode_jwt({"sub": USER_KEY, "name": "dev1", "nats": {"type": "user", "pub": {"allow": ["a.>"]}}},
                      ACCOUNT_SEED)


def test_a_user_jwt_decodes_to_its_claims_with_the_issuer_set():
    claims = decode_jwt(_user_jwt(), "user")
    assert claims["sub"] == USER_KEY
    assert claims["iss"] == ACCOUNT_KEY
    assert claims["nats"] == {"type": "user", "pub": {"allow": ["a.>"]}, "version": 2}
    assert claims["jti"] and claims["iat"] > 0


def test_a_changed_claim_breaks_the_signature():
    header, _claims, signature = _user_jwt().split(".")
    forged = encode_jwt({"sub": USER_KEY, "nats": {"type": "user", "pub": {"allow": [">"]}}}, ACCOUNT_SEED)
    with pytest.raises(JwtError, match="signature"):
        decode_jwt(f"{header}.{forged.split('.')[1]}.{signature}", "user")


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "e30.e30.e30"])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(JwtError):
        decode_jwt(token, "user")


def test_a_user_jwt_is_not_an_account_jwt_and_a_user_key_cannot_issue_one():
    with pytest.raises(JwtError, match="not account claim"):
        decode_jwt(_user_jwt(), "account")
    self_signed = encode_jwt({"sub": USER_KEY, "nats": {"type": "user"}}, USER_SEED)
    with pytest.raises(JwtError, match="expected prefixes"):
        decode_jwt(self_signed, "user")


def test_creds_text_holds_the_jwt_and_the_seed():
    token = _user_jwt()
    assert parse_creds(format_creds(token, USER_SEED.decode())) == (token, USER_SEED.decode())
    with pytest.raises(JwtError):
        parse_creds("-----BEGIN NATS USER JWT-----\nabc\n------END NATS USER JWT------\n")
