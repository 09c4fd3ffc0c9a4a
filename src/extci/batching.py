"""Coalesce concurrent requests into batches handled by worker threads.

Requests on the event loop :meth:`Batcher.submit` a job and await its answer. Worker
threads take everything that queued up while they were busy, hand it to their
:class:`Worker` in one call, and give every request its own answer back on its event loop.
Under load one database round trip, transaction and fsync serve many requests; at low load
a batch is one job and nothing waits for company.

- The queue is bounded: a full queue refuses at once with 503 and ``Retry-After``
  (admission control), so overload becomes fast refusals instead of a growing tail, and
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


class Worker(Protocol[J_in, A_out]):
    """One thread's handler: answers a batch, one answer per job, in order."""

    def process(self, jobs: Sequence[J_in]) -> Sequence[A_out | ExtciError]: ...

    def idle(self) -> None: ...


@dataclass
class _Pending(Generic[J, A]):
    job: J
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[A | ExtciError] = field(repr=False)


class Batcher(Generic[J, A]):
    def __init__(
        self,
        name: str,
        make_worker: Callable[[], Worker[J, A]],
        *,
        threads: int = 1,
        queue_limit: int = 1024,
        batch_limit: int = 256,
        overloaded: str = "The server is busier than it can handle; retry shortly.",
    ) -> None:
        self.name = name
        self.make_worker = make_worker
        self.threads = threads
        self.queue_limit = queue_limit
        self.batch_limit = batch_limit
        self.overloaded = overloaded
        self._queue: deque[_Pending[J, A]] = deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = False

    # ---- the event loop's side ------------------------------------------------------

    async def submit(self, job: J) -> A:
        """The job's answer once its batch is done; raises the answer if it is an error."""
        loop = asyncio.get_running_loop()
        pending = _Pending[J, A](job, loop, loop.create_future())
        with self._cond:
            if self._closing:
                raise ServiceUnavailable(
                    "The server is shutting down; retry shortly.", headers={"retry-after": "1"}
                )
            if len(self._queue) >= self.queue_limit:
                raise ServiceUnavailable(self.overloaded, headers={"retry-after": "1"})
            self._queue.append(pending)
            self._cond.notify()
            if not self._threads:
                self._start()
        answer = await pending.future
        if isinstance(answer, ExtciError):
            raise answer
        return answer

    def _start(self) -> None:
        self._threads = [
            threading.Thread(target=self._run, name=f"extci-{self.name}-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new jobs, finish the queued ones, stop the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ---- the worker threads ---------------------------------------------------------

    def _run(self) -> None:
        worker = self.make_worker()
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    if not self._cond.wait(IDLE_SECONDS):
                        worker.idle()
                if not self._queue:  # closing and drained
                    break
                count = min(len(self._queue), self.batch_limit)
                batch = [self._queue.popleft() for _ in range(count)]
            try:
                answers = worker.process([p.job for p in batch])
            except Exception as exc:  # a bug: never leave a request waiting for ever
                log.error("%s: a batch of %d failed", self.name, len(batch), exc_info=exc)
                bug = ExtciError("Something went wrong on the server; it was logged.")
                answers = [bug] * len(batch)
            _deliver(batch, answers)
        worker.idle()


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
