"""Per-key request budget: a fixed one-minute window.

Where the count lives follows the deployment:

- SQLite is one server process by design, so the count lives in that process's memory:
  exact, and no write (with its fsync) is added to a webhook request.
- PostgreSQL may serve several processes; they share the count in the ``rate_windows``
  table, advanced by one upsert per request (``synchronous_commit`` off: a counter lost
  in a crash only forgives a few requests), so the limit holds across processes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from extci.db import unit_of_work
from extci.ingest import repository

WINDOW = timedelta(seconds=60)
WINDOW_SECONDS = WINDOW.total_seconds()


@dataclass(frozen=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    @classmethod
    def of(cls, limit: int, count: int, elapsed: float) -> Quota:
        """``count`` requests so far in a window that began ``elapsed`` seconds ago."""
        # Elapsed first: (start + 60) - now can round to 60.000…01 and would ceil to 61.
        reset = min(60, max(1, math.ceil(WINDOW_SECONDS - elapsed)))
        return cls(count <= limit, limit, max(0, limit - count), reset)

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["retry-after"] = str(self.reset_seconds)
        return headers


class RateLimiter(Protocol):
    # True when hit() does I/O (call it off the event loop).
    blocking: bool

    def hit(self, key_id: int, now: datetime) -> Quota:
        """Count one request of ``key_id`` and say whether it is within the budget."""
        ...


class MemoryRateLimiter:
    """Windows on the monotonic clock: a wall-clock step cannot stretch or skip one."""

    blocking = False

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[int, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: int, now: datetime) -> Quota:
        tick = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key_id, (tick, 0))
            if tick - start >= WINDOW_SECONDS:
                start, count = tick, 0
            count += 1
            self._windows[key_id] = (start, count)
            if len(self._windows) > 10_000:  # forget idle keys now and then
                self._windows = {
                    k: v for k, v in self._windows.items() if tick - v[0] < WINDOW_SECONDS
                }
        return Quota.of(self.per_minute, count, tick - start)


class DatabaseRateLimiter:
    """One short transaction of its own per request, off the event's transaction."""

    blocking = True

    def __init__(self, per_minute: int, sessions: sessionmaker[Session]) -> None:
        self.per_minute = per_minute
        self.sessions = sessions

    def hit(self, key_id: int, now: datetime) -> Quota:
        with unit_of_work(self.sessions) as session:
            session.execute(text("SET LOCAL synchronous_commit = off"))
            start, count = repository.count_request(session, key_id, now, now - WINDOW)
        return Quota.of(self.per_minute, count, (now - start).total_seconds())


def rate_limiter_for(dialect: str, per_minute: int, sessions: sessionmaker[Session]) -> RateLimiter:
    if dialect == "postgresql":
        return DatabaseRateLimiter(per_minute, sessions)
    return MemoryRateLimiter(per_minute)
