"""Coalesce concurrent requests into batches handled by worker threads.

Requests on the event loop :meth:`Batcher.submit` a job and await its answer. Worker
threads take everything that queued up while they were busy, hand it to their
:class:`Worker` in one call, and give every request its own answer back on its event loop.
Under load one database round trip, transaction and fsync serve many requests; at low load
a batch is one job and nothing waits for company.

- The queue is bounded: a full queue refuses at once with 503 and ``Retry-After``, and a
  job that waited longer than ``max_wait`` is answered 503 instead of being handled
  (admission control): overload becomes prompt refusals instead of a growing tail, and
  memory stays bounded.
- :meth:`Batcher.close` refuses new jobs with 503, lets the workers finish what is queued,
  and stops them.
- A worker that raises answers its whole batch with a logged 500: no request ever waits
  for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from extci.errors import ExtciError, ServiceUnavailable

log = logging.getLogger("extci.batching")

J = TypeVar("J")
A = TypeVar("A")
J_in = TypeVar("J_in", contravariant=True)
A_out = TypeVar("A_out", covariant=True)
# After this long without work a worker is told it is idle (to give back its connection).
IDLE_SECONDS = 1.0
# The queue admits at least this many jobs whatever the measured throughput.
MIN_QUEUE = 64


class Worker(Protocol[J_in, A_out]):
    """One thread's handler: answers a batch, one answer per job, in order."""

    def process(self, jobs: Sequence[J_in]) -> Sequence[A_out | ExtciError]: ...

    def idle(self) -> None: ...


@dataclass
class _Pending(Generic[J, A]):
    job: J
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[A | ExtciError] = field(repr=False)
    queued_at: float = field(default_factory=time.monotonic)


class Batcher(Generic[J, A]):
    def __init__(
        self,
        name: str,
        make_worker: Callable[[], Worker[J, A]],
        *,
        threads: int = 1,
        queue_limit: int = 1024,
        batch_limit: int = 256,
        max_wait: float = 2.0,
        overloaded: str = "The server is busier than it can handle; retry shortly.",
    ) -> None:
        self.name = name
        self.make_worker = make_worker
        self.threads = threads
        self.queue_limit = queue_limit
        self.batch_limit = batch_limit
        self.max_wait = max_wait
        self.overloaded = overloaded
        self._queue: deque[_Pending[J, A]] = deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = False
        # Jobs handled per second, smoothed: how much queue can drain within max_wait.
        self._rate = 0.0

    # ---- the event loop's side ------------------------------------------------------

    async def submit(self, job: J, *, since: float | None = None) -> A:
        """The job's answer once its batch is done; raises the answer if it is an error.

        ``since`` (``time.monotonic()``) is when the request behind the job arrived, if
        earlier: ``max_wait`` then bounds the request's whole wait, across every queue it
        passes through, not just this one."""
        loop = asyncio.get_running_loop()
        pending = _Pending[J, A](job, loop, loop.create_future())
        if since is not None:
            pending.queued_at = min(since, pending.queued_at)
        with self._cond:
            if self._closing:
                raise ServiceUnavailable(
                    "The server is shutting down; retry shortly.", headers={"retry-after": "1"}
                )
            if not self._admits():
                raise ServiceUnavailable(self.overloaded, headers={"retry-after": "1"})
            self._queue.append(pending)
            self._cond.notify()
            if not self._threads:
                self._start()
        answer = await pending.future
        if isinstance(answer, ExtciError):
            raise answer
        return answer

    def admitting(self) -> bool:
        """Whether a job submitted now would be queued: callers ask before doing work
        (reading and parsing a body) that a refusal would waste."""
        return not self._closing and self._admits()

    def _admits(self) -> bool:
        # Never more than queue_limit; and, once the throughput is known, no more than
        # can be handled within max_wait (at least MIN_QUEUE, so a cold start is not shed).
        drainable = max(MIN_QUEUE, self._rate * self.max_wait)
        return len(self._queue) < min(self.queue_limit, drainable)

    def _start(self) -> None:
        threads = [
            threading.Thread(target=self._run, name=f"extci-{self.name}-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in threads:
            thread.start()
        self._threads = threads

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new jobs, finish the queued ones, stop the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        with self._cond:  # whatever the threads did not get to: nobody is left to do it
            left = list(self._queue)
            self._queue.clear()
        if left:
            gone = ServiceUnavailable(
                "The server is shutting down; retry shortly.", headers={"retry-after": "1"}
            )
            _deliver(left, [gone] * len(left))

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ---- the worker threads ---------------------------------------------------------

    def _run(self) -> None:
        worker = self.make_worker()
        while True:
            idle = False
            with self._cond:
                if not self._queue and not self._closing:
                    idle = not self._cond.wait(IDLE_SECONDS)
                if self._closing and not self._queue:  # closing and drained
                    break
                count = min(len(self._queue), self.batch_limit)
                batch = [self._queue.popleft() for _ in range(count)]
            if idle and not batch:
                worker.idle()  # outside the lock: it may wait on the network
            batch = self._shed(batch)
            if batch:
                self._handle(worker, batch)
        worker.idle()

    def _handle(self, worker: Worker[J, A], batch: list[_Pending[J, A]]) -> None:
        started = time.monotonic()
        try:
            answers = list(worker.process([p.job for p in batch]))
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers for {len(batch)} jobs")
            self._measure(len(batch), time.monotonic() - started)
        except Exception as exc:  # a bug: never leave a request waiting for ever
            log.error("%s: a batch of %d failed", self.name, len(batch), exc_info=exc)
            bug = ExtciError("Something went wrong on the server; it was logged.")
            answers = [bug] * len(batch)
        _deliver(batch, answers)

    def _measure(self, jobs: int, seconds: float) -> None:
        rate = jobs / max(seconds, 1e-4) * self.threads
        self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate

    def _shed(self, batch: list[_Pending[J, A]]) -> list[_Pending[J, A]]:
        """Answer 503 at once for jobs that waited longer than ``max_wait``: their clients
        are better served by a prompt "retry later" than by an answer after their own
        time-out (and the queue drains instead of growing a tail)."""
        if self._rate == 0:
            # Nothing handled yet (the first connection to the database may be what takes
            # the time): no throughput to judge the wait by, and no queue behind to drain.
            return batch
        too_old = time.monotonic() - self.max_wait
        stale = [p for p in batch if p.queued_at < too_old]
        if not stale:
            return batch
        busy = ServiceUnavailable(self.overloaded, headers={"retry-after": "1"})
        _deliver(stale, [busy] * len(stale))
        return [p for p in batch if p.queued_at >= too_old]


def _deliver(batch: Sequence[_Pending[J, A]], answers: Sequence[A | ExtciError]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending[J, A], A | ExtciError]]] = {}
    for pending, answer in zip(batch, answers, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending, answer))
    for loop, pairs in by_loop.items():
        # A loop that has closed has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, pairs)


def _settle(pairs: Sequence[tuple[_Pending[J, A], A | ExtciError]]) -> None:
    for pending, answer in pairs:
        if not pending.future.done():  # the request may have been cancelled (client gone)
            pending.future.set_result(answer)
