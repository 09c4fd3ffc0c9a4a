"""A short-lived, bounded cache of CI key look-ups for the webhook's first check.

The webhook checks the key before it reads the body (so a bad key costs no parsing), and
most requests come from a handful of keys: a database read per request would be the most
expensive part of the answer. Entries live ``ttl`` seconds, so a suspend, delete or expiry
is seen by this first check within that time. The event itself is never stored on a stale
entry: the writer checks every key's status again inside the event's own transaction
(:func:`extci.ingest.service.ingest_batch`), so a suspend, delete or expiry that committed
before the batch began is never stored past (on SQLite, whose batches hold the write lock,
that is every one that committed before the answer).

Changes made through this process's sessions clear the cache when they commit
(:func:`invalidate_on_commit`). Unknown keys are cached too (as ``None``), so a client
spraying made-up but well-formed keys costs one read per key per ``ttl``; the cache is
bounded and forgets the oldest half when full.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from extci.commit_hooks import on_commit_changing
from extci.keys.models import CIKey, KeyStatus, key_status

DEFAULT_TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class KeyRecord:
    id: int
    component_id: str
    status: str
    expires_at: datetime | None

    def active(self, now: datetime) -> bool:
        return key_status(self.status, self.expires_at, now) == KeyStatus.ACTIVE


class KeyCache:
    def __init__(
        self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, KeyRecord | None]] = {}
        self._lock = threading.Lock()
        self._flights: dict[
            tuple[asyncio.AbstractEventLoop, str], asyncio.Future[KeyRecord | None]
        ] = {}

    def get(self, key_hash: str) -> tuple[bool, KeyRecord | None]:
        """(found, record): ``found`` is False when the database must be asked."""
        entry = self._entries.get(key_hash)
        if entry is None or self._clock() - entry[0] >= self.ttl:
            return False, None
        return True, entry[1]

    async def load(
        self, key_hash: str, fetch: Callable[[], Awaitable[KeyRecord | None]]
    ) -> KeyRecord | None:
        """Fetch and cache a key; concurrent misses for one key share a single fetch (when
        an entry expires under load, one database read serves every waiting request)."""
        flight_key = (asyncio.get_running_loop(), key_hash)
        flight = self._flights.get(flight_key)
        if flight is None:
            flight = asyncio.ensure_future(fetch())
            self._flights[flight_key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(flight_key, None))
        record = await asyncio.shield(flight)
        self.put(key_hash, record)
        return record

    def put(self, key_hash: str, record: KeyRecord | None) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                for stale in list(self._entries)[: MAX_ENTRIES // 2]:
                    del self._entries[stale]
            self._entries[key_hash] = (self._clock(), record)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


def invalidate_on_commit(sessions: sessionmaker[Session], cache: KeyCache) -> None:
    """Forget every cached key when a session of this process commits a change to a CI key
    (suspend, resume, delete, expiry): this process sees its own changes at once; other
    processes (another server, the admin CLI) within the cache's lifetime."""

    on_commit_changing(sessions, CIKey, cache.clear)
