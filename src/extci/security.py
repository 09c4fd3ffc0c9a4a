"""Secrets: the ``extci_<kind>_`` token format, keyed hashes and password hashing.

A token is ``extci_ci_`` or ``extci_pat_``, then 32 base62 characters from the OS CSPRNG
(about 190 random bits), then a 6-character base62 CRC32 of the random part. The checksum
lets us refuse a mistyped or made-up token without touching the database, and lets secret
scanners recognise our tokens. Only an HMAC-SHA256 of the whole token under the
installation's secret is stored.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import zlib
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from extci.errors import ServiceUnavailable

T = TypeVar("T")

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


class PasswordHashingBusy(ServiceUnavailable):
    """Every hashing slot is taken and the waiting line is full: try again shortly."""

    def __init__(self) -> None:
        super().__init__(
            "Too many password checks at once; try again in a moment.",
            headers={"retry-after": "1"},
        )


class HashingGate:
    """At most ``running`` password hashes at once, at most ``waiting`` callers queued behind
    them; anyone past that is refused at once (:class:`PasswordHashingBusy`).

    argon2id takes 64 MiB and 0.1-0.2 s of a core per call. Unbounded, a burst of sign-ins
    holds every worker thread the webhook needs and a gigabyte of memory; bounded, it costs
    at most ``running`` cores and ``running + waiting`` threads, whatever the burst.
    """

    def __init__(self, running: int, waiting: int) -> None:
        self._running = threading.Semaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)

    def run(self, work: Callable[..., T], *args: str) -> T:
        if not self._admitted.acquire(blocking=False):
            raise PasswordHashingBusy()
        try:
            with self._running:
                return work(*args)
        finally:
            self._admitted.release()


HASHING_CONCURRENCY = 2  # argon2 calls at once: one per core of a small server
HASHING_QUEUE = 8  # callers that may wait for a slot before the next is refused (503)
_gate = HashingGate(HASHING_CONCURRENCY, HASHING_QUEUE)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    """argon2id hash; raises :class:`PasswordHashingBusy` when too many are under way."""
    return _gate.run(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches; raises :class:`PasswordHashingBusy` like
    :func:`hash_password`."""
    return _gate.run(_verify, password_hash, password)


@functools.cache
def dummy_password_hash() -> str:
    """Verifying against this keeps a wrong username as slow as a wrong password. Made when
    first needed, not on import: an argon2 hash costs a third of a CPU second, which every
    process that imports this module (each local ``extci`` command) would pay."""
    return _hasher.hash("extci-dummy-password")


def generate_password() -> str:
    return secrets.token_urlsafe(18)
