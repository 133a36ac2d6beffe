"""Password and token checks: bcrypt hashes (the vector of PROTOCOL-SPEC §13.2) and plain compare."""

import bcrypt
import pytest
from edgenats.auth import is_bcrypt_hash, verify_password

SPEC_HASH = "$2b$11$KFcDaz9BGPS8K6tKcTh7ru.VjW6I44l9/vVoI9Y2RYyMJsQfVRKRG"


def low_cost_hash(password: bytes, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=4, prefix=prefix)).decode()


def test_spec_vector_accepts_the_right_password():
    assert verify_password(SPEC_HASH, "s3cret")


def test_spec_vector_refuses_a_wrong_password():
    assert not verify_password(SPEC_HASH, "nope")


def test_spec_vector_refuses_a_missing_password():
    assert not verify_password(SPEC_HASH, None)


@pytest.mark.parametrize("letter", ["a", "b", "x", "y"])
def test_every_bcrypt_minor_version_is_checked_with_bcrypt(letter):
    hashed = "$2" + letter + low_cost_hash(b"pw")[3:]
    assert verify_password(hashed, "pw")
    assert not verify_password(hashed, "pw2")


def test_bcrypt_ignores_bytes_after_the_72nd_like_nats_server():
    hashed = low_cost_hash(b"p" * 72)
    assert verify_password(hashed, "p" * 72 + "anything after is ignored")
    assert not verify_password(hashed, "p" * 71)


def test_a_broken_bcrypt_hash_refuses_everything():
    assert not verify_password("$2b$04$tooshort", "tooshort")


def test_plain_password_must_match_exactly():
    assert verify_password("s3cret", "s3cret")
    assert not verify_password("s3cret", "s3cret ")
    assert not verify_password("s3cret", "S3CRET")
    assert not verify_password("s3cret", None)


def test_non_ascii_plain_password():
    assert verify_password("pässwört", "pässwört")
    assert not verify_password("pässwört", "passwort")


def test_empty_configured_password_accepts_only_no_password():
    assert verify_password("", None)
    assert verify_password("", "")
    assert not verify_password("", "x")


@pytest.mark.parametrize(
    "text, expected",
    [
        (SPEC_HASH, True),
        ("$2a$10$abc", True),
        ("$2x$04$", True),
        ("$2y$31$whatever", True),
        ("$2c$10$abc", False),
        ("$2b$1$abc", False),
        ("$2b$100$abc", False),
        ("$2b10$abc", False),
        ("2b$10$abc", False),
        ("plain", False),
        ("", False),
    ],
)
def test_is_bcrypt_hash_needs_prefix_two_digit_cost_and_dollar(text, expected):
    assert is_bcrypt_hash(text) is expected
