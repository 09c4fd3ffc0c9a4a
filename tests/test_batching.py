"""The batcher behind the ingest writer and the PostgreSQL rate counter: jobs are handled
in batches on worker threads, and a job whose request has waited too long is answered 503
instead of being handled (its client is better served by a prompt "retry later")."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from extci.batching import Batcher
from extci.errors import ExtciError


class Doubler:
    """A worker that records what it handled; ``gate`` holds it until the test lets go."""

    def __init__(self, handled: list[int], gate: threading.Event) -> None:
        self.handled = handled
        self.gate = gate

    def process(self, jobs: Sequence[int]) -> list[int | ExtciError]:
        self.gate.wait(5)
        self.handled.extend(jobs)
        return [job * 2 for job in jobs]

    def idle(self) -> None:
        pass


def batcher(handled: list[int], gate: threading.Event, **options: float) -> Batcher[int, int]:
    return Batcher("test", lambda: Doubler(handled, gate), **options)  # type: ignore[arg-type]


def test_jobs_are_answered_by_their_batch() -> None:
    handled: list[int] = []
    gate = threading.Event()
    gate.set()
    jobs = batcher(handled, gate)

    async def main() -> list[int]:
        return await asyncio.gather(*(jobs.submit(n) for n in range(5)))

    try:
        assert asyncio.run(main()) == [0, 2, 4, 6, 8]
    finally:
        jobs.close()
    assert sorted(handled) == [0, 1, 2, 3, 4]


def test_a_request_that_already_waited_max_wait_elsewhere_is_shed_not_handled() -> None:
    """``since`` is when the request arrived: its wait in earlier queues counts too."""
    handled: list[int] = []
    gate = threading.Event()
    gate.set()
    jobs = batcher(handled, gate, max_wait=0.5)

    async def main() -> tuple[int, ExtciError]:
        await jobs.submit(0)  # a first batch: the throughput is known
        fresh = await jobs.submit(1, since=time.monotonic())
        with pytest.raises(ExtciError) as late:
            await jobs.submit(2, since=time.monotonic() - 0.6)
        return fresh, late.value

    try:
        fresh, late = asyncio.run(main())
    finally:
        jobs.close()
    assert fresh == 2
    assert late.status == 503
    assert late.headers["retry-after"] == "1"
    assert handled == [0, 1]


def test_jobs_queued_past_max_wait_are_shed_and_the_rest_handled() -> None:
    handled: list[int] = []
    gate = threading.Event()
    jobs = batcher(handled, gate, max_wait=0.3)

    async def main() -> list[int | BaseException]:
        gate.set()
        await jobs.submit(9)  # a first batch: the throughput is known
        gate.clear()
        first = asyncio.ensure_future(jobs.submit(0))  # taken by the worker, held at the gate
        await asyncio.sleep(0.1)
        queued = [asyncio.ensure_future(jobs.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0.4)  # the queued two are now older than max_wait
        gate.set()
        return await asyncio.gather(first, *queued, return_exceptions=True)

    try:
        answers = asyncio.run(main())
    finally:
        jobs.close()
    assert answers[0] == 0
    assert [getattr(a, "status", None) for a in answers[1:]] == [503, 503]
    assert handled == [9, 0]


def test_nothing_is_shed_before_the_first_batch_is_done() -> None:
    """A cold start (the first database connection being made) is not an overload."""
    handled: list[int] = []
    gate = threading.Event()
    gate.set()
    jobs = batcher(handled, gate, max_wait=0.5)

    async def main() -> int:
        return await jobs.submit(3, since=time.monotonic() - 0.6)

    try:
        assert asyncio.run(main()) == 6
    finally:
        jobs.close()
