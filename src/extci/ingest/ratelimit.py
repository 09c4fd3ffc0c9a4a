"""Per-key request budget: a fixed one-minute window.

Counted in process memory: with several server processes behind a balancer each enforces
the limit on what it sees (documented in the README). Nothing here needs to survive a
restart, and keeping it out of the database keeps a write off every webhook request.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["retry-after"] = str(self.reset_seconds)
        return headers


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[int, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: int) -> Quota:
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key_id, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, count = now, 0
            allowed = count < self.per_minute
            if allowed:
                count += 1
            self._windows[key_id] = (start, count)
            if len(self._windows) > 10_000:  # forget idle keys now and then
                self._windows = {
                    k: v for k, v in self._windows.items() if now - v[0] < WINDOW_SECONDS
                }
        # elapsed first: (start + 60) - now rounds to 60.000…01 and would ceil to 61.
        reset = max(1, math.ceil(WINDOW_SECONDS - (now - start)))
        return Quota(allowed, self.per_minute, self.per_minute - count, reset)
