"""Group commit: one writer thread stores concurrent events together.

Each webhook request parses its event on the event loop, puts it on a bounded queue and
awaits its answer. The writer thread takes everything that queued up while the previous
batch was committing, runs it in one transaction (one savepoint per event, see
:func:`extci.ingest.service.ingest_batch`), commits once, and only then hands each request
its own answer. Under load one fsync covers many events; at low load a batch is one event
and nothing waits for company.

Failure rules, which make a 200 mean "stored, exactly once":

- an event that is refused is rolled back alone (its savepoint); its batch-mates commit;
- anything that dooms the transaction (a lost connection, a locked or full database, a
  failed commit) rolls the whole batch back; a deadlock or serialisation failure is retried
  a few times, anything else answers every event of the batch 503 with ``Retry-After``;
- a full queue answers 503 at once (admission control), so overload becomes fast refusals
  instead of a growing tail, and memory stays bounded;
- on shutdown new events are refused with 503 and the queue is drained before the thread
  stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from extci.clock import utcnow
from extci.db import WRITE, problem_for, unavailable
from extci.errors import ExtciError, ServiceUnavailable
from extci.ingest.service import Event, Outcome, Rules, ingest_batch
from extci.keys.service import AuthenticatedKey

log = logging.getLogger("extci.ingest")

Answer = Outcome | ExtciError
# SQLSTATE classes worth retrying as a whole batch: serialisation failure, deadlock.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
_ATTEMPTS = 3
# After this long without events the writer returns its connection to the pool.
IDLE_SECONDS = 1.0


@dataclass
class _Job:
    event: Event
    key: AuthenticatedKey
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Answer] = field(repr=False)


def _settle(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():  # the request may have been cancelled (client gone)
        future.set_result(answer)


class IngestWriter:
    def __init__(
        self, engine: Engine, rules: Rules, *, queue_limit: int = 1024, batch_limit: int = 256
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.queue_limit = queue_limit
        self.batch_limit = batch_limit
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._conn: Connection | None = None

    # ---- the event loop's side ------------------------------------------------------

    async def submit(self, event: Event, key: AuthenticatedKey) -> Outcome:
        """Store one event; returns once its batch has committed, or raises its refusal."""
        loop = asyncio.get_running_loop()
        job = _Job(event, key, loop, loop.create_future())
        with self._cond:
            if self._closing:
                raise ServiceUnavailable(
                    "The server is shutting down; retry shortly.", headers={"retry-after": "1"}
                )
            if len(self._queue) >= self.queue_limit:
                raise ServiceUnavailable(
                    "The server is receiving more events than it can store; retry shortly.",
                    headers={"retry-after": "1"},
                )
            self._queue.append(job)
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="extci-ingest-writer", daemon=True
                )
                self._thread.start()
        answer = await job.future
        if isinstance(answer, ExtciError):
            raise answer
        return answer

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new events, store the queued ones, stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # ---- the writer thread ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    if not self._cond.wait(IDLE_SECONDS):
                        self._disconnect()  # idle: give the connection back to the pool
                if not self._queue:  # closing and drained
                    break
                count = min(len(self._queue), self.batch_limit)
                jobs = [self._queue.popleft() for _ in range(count)]
            answers = self._store(jobs)
            self._answer(jobs, answers)
        self._disconnect()

    def _answer(self, jobs: Sequence[_Job], answers: Sequence[Answer]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Answer]]] = {}
        for job, answer in zip(jobs, answers, strict=True):
            by_loop.setdefault(job.loop, []).append((job, answer))
        for loop, pairs in by_loop.items():
            # A loop that has closed has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, pairs)

    def _store(self, jobs: Sequence[_Job]) -> list[Answer]:
        pairs = [(job.event, job.key) for job in jobs]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return self._transaction(
                    lambda conn: ingest_batch(conn, pairs, now=utcnow(), rules=self.rules)
                )
            except DBAPIError as exc:
                self._disconnect()
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate in _RETRY_SQLSTATES and attempt < _ATTEMPTS:
                    continue
                problem = problem_for(exc)
                if problem is None or problem.status < 500:
                    log.error("a batch of %d events failed to commit", len(jobs), exc_info=exc)
                    problem = unavailable()
                else:
                    log.warning("a batch of %d events was not stored: %s", len(jobs), exc.orig)
                return [problem] * len(jobs)
            except Exception as exc:  # a bug: never leave a request waiting for ever
                self._disconnect()
                log.error("a batch of %d events failed", len(jobs), exc_info=exc)
                return [ExtciError("Something went wrong on the server; it was logged.")] * len(
                    jobs
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, work: Callable[[Connection], list[Answer]]) -> list[Answer]:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(**WRITE)
        conn = self._conn
        with conn.begin():
            return work(conn)

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self._conn.close()
            self._conn = None


def _settle_all(pairs: Sequence[tuple[_Job, Answer]]) -> None:
    for job, answer in pairs:
        _settle(job.future, answer)
