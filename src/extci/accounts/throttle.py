"""The sign-in throttle (management.md §1): failed passwords per (client address, username)
and per client address in a sliding window. Never per username alone: then anyone could
lock any user out.

An attempt is checked and counted in one step, before its password is hashed, so that
simultaneous attempts cannot all slip in before the first failure is recorded; a success
then takes its count back and forgives that pair's earlier failures.

Where the count lives follows the deployment, like the webhook's rate limit: in process
memory on SQLite (one server process), in the ``sign_in_failures`` table on PostgreSQL so
that every process sees the same count.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Index, Integer, String, delete, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from extci.clock import utcnow
from extci.config import Settings
from extci.db import Base, UTCDateTime, unit_of_work
from extci.security import keyed_hash


class SignInFailure(Base):
    """One counted attempt of one key (PostgreSQL deployments). The key is a keyed hash:
    a password typed into the username field is not stored."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True)
class Attempt:
    """An attempt the throttle admitted and has already counted as a failure."""

    keys: tuple[str, str]  # (client address, username), client address
    marks: tuple[int, ...] | float  # what counted it: row ids, or a monotonic time


class SignInThrottle(Protocol):
    def begin(self, address: str, username: str) -> Attempt | int:
        """Admit and count an attempt, or return the seconds to wait before the next one."""
        ...

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this pair starts afresh, the address keeps other failures."""
        ...

    def abandoned(self, attempt: Attempt) -> None:
        """The password was never checked (the server was busy): the attempt does not count."""
        ...


def _keys(address: str, username: str) -> tuple[str, str]:
    return f"p:{address}\0{username.casefold()}", f"a:{address}"


def _wait(oldest_counted: float, window: float) -> int:
    """Seconds until the oldest of the counted failures leaves the window."""
    return max(1, math.ceil(oldest_counted + window))


class MemorySignInThrottle:
    MAX_TRACKED = 10_000  # keys kept before expired ones are swept

    def __init__(self, per_user: int, per_address: int, window: timedelta) -> None:
        self.limits = (per_user, per_address)
        self.window = window.total_seconds()
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        stamps = [t for t in self._failures.get(key, []) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def begin(self, address: str, username: str) -> Attempt | int:
        keys = _keys(address, username)
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > self.MAX_TRACKED:
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window
                }
            waits = []
            for key, limit in zip(keys, self.limits, strict=True):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    waits.append(_wait(stamps[-limit] - now, self.window))
            if waits:
                return max(waits)
            for key in keys:
                self._failures.setdefault(key, []).append(now)
        return Attempt(keys, now)

    def _uncount(self, attempt: Attempt, keys: tuple[str, ...]) -> None:
        for key in keys:
            stamps = self._failures.get(key, [])
            if attempt.marks in stamps:
                stamps.remove(attempt.marks)

    def succeeded(self, attempt: Attempt) -> None:
        pair, address = attempt.keys
        with self._lock:
            self._failures.pop(pair, None)
            self._uncount(attempt, (address,))

    def abandoned(self, attempt: Attempt) -> None:
        with self._lock:
            self._uncount(attempt, attempt.keys)


# Two-key advisory locks in their own namespace (the first key), one per throttle key.
_LOCK_NAMESPACE = 0x5349  # "SI"


class DatabaseSignInThrottle:
    """The same rules with the counts in ``sign_in_failures``, shared by every process.

    Check and count happen in one transaction holding a transaction-scoped advisory lock
    per key (taken in a fixed order), so two processes cannot both admit the last allowed
    attempt. ``synchronous_commit`` is off for it, as for the webhook's rate windows: a
    crash can only forget a few failures.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret: bytes,
        per_user: int,
        per_address: int,
        window: timedelta,
    ) -> None:
        self.sessions = sessions
        self.secret = secret
        self.limits = (per_user, per_address)
        self.window = window

    def begin(self, address: str, username: str) -> Attempt | int:
        keys = (
            keyed_hash(self.secret, _keys(address, username)[0]),
            keyed_hash(self.secret, _keys(address, username)[1]),
        )
        with unit_of_work(self.sessions, write=True) as session:
            session.execute(text("SET LOCAL synchronous_commit = off"))
            for key in sorted(keys):
                session.execute(
                    select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, func.hashtext(key)))
                )
            now = utcnow()
            session.execute(
                delete(SignInFailure).where(SignInFailure.failed_at <= now - self.window)
            )
            waits = []
            for key, limit in zip(keys, self.limits, strict=True):
                stamps = session.scalars(
                    select(SignInFailure.failed_at)
                    .where(SignInFailure.key == key)
                    .order_by(SignInFailure.failed_at.desc())
                    .limit(limit)
                ).all()
                if len(stamps) >= limit:
                    oldest = (stamps[-1] - now).total_seconds()
                    waits.append(_wait(oldest, self.window.total_seconds()))
            if waits:
                return max(waits)
            ids = session.scalars(
                insert(SignInFailure)
                .values([{"key": key, "failed_at": now} for key in keys])
                .returning(SignInFailure.id)
            ).all()
        return Attempt(keys, tuple(ids))

    def _delete(self, condition: object) -> None:
        with unit_of_work(self.sessions, write=True) as session:
            session.execute(delete(SignInFailure).where(condition))  # type: ignore[arg-type]

    def succeeded(self, attempt: Attempt) -> None:
        pair, _address = attempt.keys
        assert isinstance(attempt.marks, tuple)
        self._delete((SignInFailure.key == pair) | SignInFailure.id.in_(attempt.marks))

    def abandoned(self, attempt: Attempt) -> None:
        assert isinstance(attempt.marks, tuple)
        self._delete(SignInFailure.id.in_(attempt.marks))


def sign_in_throttle_for(
    dialect: str, sessions: sessionmaker[Session], settings: Settings
) -> SignInThrottle:
    limits = (settings.sign_in_failures_per_user, settings.sign_in_failures_per_address)
    if dialect == "postgresql":
        return DatabaseSignInThrottle(sessions, settings.hmac_key, *limits, settings.sign_in_window)
    return MemorySignInThrottle(*limits, settings.sign_in_window)
