"""Secrets: the ``extci_<kind>_`` token format, keyed hashes and password hashing.

A token is ``extci_ci_`` or ``extci_pat_``, then 32 base62 characters from the OS CSPRNG
(about 190 random bits), then a 6-character base62 CRC32 of the random part. The checksum
lets us refuse a mistyped or made-up token without touching the database, and lets secret
scanners recognise our tokens. Only an HMAC-SHA256 of the whole token under the
installation's secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
CI_KEY_PREFIX = "extci_ci_"
PAT_PREFIX = "extci_pat_"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def _checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode()), CHECKSUM_LENGTH)


def generate_token(prefix: str) -> str:
    random_part = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return prefix + random_part + _checksum(random_part)


def token_is_well_formed(token: str, prefix: str) -> bool:
    if not token.startswith(prefix):
        return False
    body = token[len(prefix) :]
    if len(body) != RANDOM_LENGTH + CHECKSUM_LENGTH or any(c not in BASE62 for c in body):
        return False
    random_part, checksum = body[:RANDOM_LENGTH], body[RANDOM_LENGTH:]
    return hmac.compare_digest(checksum, _checksum(random_part))


def tokens_match(presented: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (CSRF tokens and the like)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def token_hint(token: str, prefix: str) -> str:
    """What lists show: the prefix and the last four characters."""
    return f"{prefix}…{token[-4:]}"


def keyed_hash(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this keeps a wrong username as slow as a wrong password.
DUMMY_PASSWORD_HASH = _hasher.hash("extci-dummy-password")


def generate_password() -> str:
    return secrets.token_urlsafe(18)
