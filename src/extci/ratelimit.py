"""Per-key request budget: a fixed one-minute window.

Infrastructure: what a key is, and where a shared window is stored, is given by the
caller (:func:`extci.runtime.rate_limiter_for` wires in the CI keys' and trust policies'
windows); the time comes from the :class:`~extci.clock.Clock` it is given.

Where the count lives follows the deployment:

- SQLite is one server process by design, so the count lives in that process's memory:
  exact, and no write (with its fsync) is added to a webhook request.
- PostgreSQL may serve several processes; they share the count in the ``rate_windows``
  table, advanced by one upsert per request (``synchronous_commit`` off: a counter lost
  in a crash only forgives a few requests), so the limit holds across processes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from extci.batching import Batcher
from extci.clock import SYSTEM_CLOCK, Clock
from extci.db import Link
from extci.errors import ExtciError
from extci.problems import problem_for, unavailable

log = logging.getLogger("extci.ratelimit")

WINDOW = timedelta(seconds=60)
WINDOW_SECONDS = WINDOW.total_seconds()

# Counts ``hits`` per id in the shared windows, starting a new window where the stored one
# began at or before ``stale_before``; returns (id, window start, count) of each id whose
# window could be counted (an id without one, e.g. deleted meanwhile, is left out).
CountRequests = Callable[
    [Connection, Mapping[int, int], datetime, datetime], list[tuple[int, datetime, int]]
]
# The answer for an id whose window cannot be counted (it no longer exists).
Refusal = Callable[[int], ExtciError]


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
    async def hit(self, key_id: int, since: float | None = None) -> Quota:
        """Count one request of ``key_id`` and say whether it is within the budget."""
        ...

    def close(self, timeout: float = ...) -> None: ...


class MemoryRateLimiter:
    """Windows on the monotonic clock: a wall-clock step cannot stretch or skip one."""

    def __init__(self, per_minute: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[int, tuple[float, int]] = {}
        self._lock = threading.Lock()

    async def hit(self, key_id: int, since: float | None = None) -> Quota:
        return self.count(key_id)

    def count(self, key_id: int) -> Quota:
        tick = self.clock.monotonic()
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

    def close(self, timeout: float = 0.0) -> None:
        pass


class _CountingWorker:
    """Counts a batch of requests in one upsert and one (unsynchronised) commit."""

    def __init__(
        self, engine: Engine, per_minute: int, count: CountRequests, refuse: Refusal, clock: Clock
    ) -> None:
        self.link = Link(engine)
        self.per_minute = per_minute
        self.count = count
        self.refuse = refuse
        self.clock = clock

    def idle(self) -> None:
        self.link.drop()

    def process(self, key_ids: Sequence[int]) -> list[Quota | ExtciError]:
        now = self.clock.now()
        try:
            try:
                windows = self._count(Counter(key_ids), now)
            except IntegrityError:  # a key was deleted a moment ago: count one by one
                windows = {}
                for key_id, hits in Counter(key_ids).items():
                    with contextlib.suppress(IntegrityError):
                        windows.update(self._count({key_id: hits}, now))
        except SQLAlchemyError as exc:  # the database is unreachable: nothing was counted
            log.warning("rate limit: %d requests not counted: %s", len(key_ids), exc)
            problem = problem_for(exc) if isinstance(exc, DBAPIError) else None
            return [problem if problem and problem.status >= 500 else unavailable()] * len(key_ids)
        # The n requests of one key in this batch are its last n in the window.
        handed: Counter[int] = Counter()
        answers: list[Quota | ExtciError] = []
        for key_id in key_ids:
            if key_id not in windows:
                answers.append(self.refuse(key_id))
                continue
            start, count, hits = windows[key_id]
            handed[key_id] += 1
            mine = count - hits + handed[key_id]
            answers.append(Quota.of(self.per_minute, mine, (now - start).total_seconds()))
        return answers

    def _count(
        self, hits: Mapping[int, int], now: datetime
    ) -> dict[int, tuple[datetime, int, int]]:
        with self.link.transaction() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            rows = self.count(conn, hits, now, now - WINDOW)
        return {key_id: (start, count, hits[key_id]) for key_id, start, count in rows}


class DatabaseRateLimiter:
    """The windows live in the ``rate_windows`` table, shared by every process. Concurrent
    requests are counted together: one upsert per batch, off the events' transactions."""

    def __init__(
        self,
        per_minute: int,
        engine: Engine,
        count: CountRequests,
        refuse: Refusal,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.batcher: Batcher[int, Quota] = Batcher(
            "ratelimit", lambda: _CountingWorker(engine, per_minute, count, refuse, clock)
        )

    async def hit(self, key_id: int, since: float | None = None) -> Quota:
        return await self.batcher.submit(key_id, since=since)

    def close(self, timeout: float = 2.0) -> None:
        self.batcher.close(timeout)
