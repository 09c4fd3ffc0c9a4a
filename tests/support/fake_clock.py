"""A clock tests advance instead of sleeping (see extci.clock): give it to
``create_app(settings, clock=...)`` and move time on with :meth:`FakeClock.advance`."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from extci.clock import utcnow


class FakeClock:
    """Starts at the real time, on a whole second (what is stored stays plausible, and
    compares equal however it is rounded on the way out), and moves only when told; both
    readings move together. Thread-safe: the ingest writer reads it from its thread."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow().replace(microsecond=0)
        self._monotonic = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._now += by
            self._monotonic += by.total_seconds()
