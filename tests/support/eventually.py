"""Waiting for a state that arrives within a bound (a cache's revocation lag, an expiry),
without asserting how fast: poll until the check passes or a generous deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    attempt: Callable[[], T],
    until: Callable[[T], bool],
    *,
    within: float = 10.0,
    every: float = 0.1,
) -> T:
    """Call ``attempt`` until ``until(result)`` holds; return that result. Fails with the
    last result when ``within`` seconds pass first."""
    deadline = time.monotonic() + within
    while True:
        result = attempt()
        if until(result):
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"still not there after {within} s: {result!r}")
        time.sleep(every)
