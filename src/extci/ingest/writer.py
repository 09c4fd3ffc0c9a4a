"""Group commit: concurrent webhook events are stored together, many per transaction.

The webhook hands each parsed event to the ingest :class:`~extci.batching.Batcher`; a
writer thread takes everything that queued up while the previous batch was committing,
stores it in one transaction (:func:`extci.ingest.service.ingest_batch`), commits once,
and only then gives each request its own answer. One fsync covers many events.

Why a 200 means "stored, exactly once":

- the answer is handed out only after the commit returned;
- a refused event wrote nothing, so its batch-mates commit without it; an event the
  database refuses mid-write makes the batch roll back and run again without it;
- anything else that dooms the transaction (a lost connection, a locked or full database,
  a failed commit) rolls the whole batch back; a deadlock or serialisation failure is
  retried a few times, anything else answers every event of the batch 503 with
  ``Retry-After`` — nothing of it was stored, and a retry is safe because every event is
  idempotent.

SQLite has one writer thread (it has one writer at a time anyway); PostgreSQL several, so
that the network round trips of several batches overlap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from extci.batching import Batcher
from extci.clock import Clock
from extci.db import WRITE, Link
from extci.errors import ExtciError
from extci.ingest.service import Event, EventFailed, Outcome, Rules, ingest_batch
from extci.keys.service import AuthenticatedKey
from extci.problems import problem_for, unavailable
from extci.webhooks.outbox import Outbox

log = logging.getLogger("extci.ingest")

Job = tuple[Event, AuthenticatedKey]
Answer = Outcome | ExtciError
IngestWriter = Batcher[Job, Outcome]
# SQLSTATEs worth running the whole batch again for: serialisation failure, deadlock.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
_ATTEMPTS = 3


class IngestWorker:
    def __init__(
        self,
        engine: Engine,
        rules: Rules,
        outbox: Outbox | None,
        clock: Clock,
    ) -> None:
        self.link = Link(engine, clean=(EventFailed,), **WRITE)
        self.rules = rules
        self.outbox = outbox
        self.clock = clock

    def idle(self) -> None:
        self.link.drop()

    def process(self, jobs: Sequence[Job]) -> list[Answer]:
        answers: dict[int, Answer] = {}  # settled outside any transaction
        attempt = 0
        while len(answers) < len(jobs):
            pending = [i for i in range(len(jobs)) if i not in answers]
            try:
                with self.link.transaction() as conn:
                    stored = ingest_batch(
                        conn,
                        [jobs[i] for i in pending],
                        now=self.clock.now(),
                        rules=self.rules,
                        outbox=self.outbox,
                    )
            except EventFailed as failed:  # rolled back: run again without that event
                answers[pending[failed.index]] = failed.answer
                continue
            except DBAPIError as exc:
                attempt += 1
                if getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES and attempt < _ATTEMPTS:
                    continue
                failure = _not_stored(len(jobs), exc)
                return [answers.get(i, failure) for i in range(len(jobs))]
            except SQLAlchemyError as exc:  # e.g. a connection invalidated under our feet
                attempt += 1
                if attempt < _ATTEMPTS:
                    continue
                log.warning("a batch of %d events was not stored: %s", len(jobs), exc)
                return [answers.get(i, unavailable()) for i in range(len(jobs))]
            answers.update(zip(pending, stored, strict=True))
            if self.outbox is not None:
                self.outbox.committed()
        return [answers[i] for i in range(len(jobs))]


def _not_stored(count: int, exc: DBAPIError) -> ExtciError:
    """Nothing of the batch was stored: 503 (safe to retry), logged as a warning when the
    cause is known to be transient, as an error otherwise."""
    problem = problem_for(exc)
    if problem is not None and problem.status >= 500:
        log.warning("a batch of %d events was not stored: %s", count, exc.orig)
        return problem
    log.error("a batch of %d events failed to commit", count, exc_info=exc)
    return unavailable()


def ingest_writer(
    engine: Engine,
    rules: Rules,
    *,
    threads: int,
    queue_limit: int,
    outbox: Outbox | None,
    clock: Clock,
) -> IngestWriter:
    return Batcher(
        "writer",
        lambda: IngestWorker(engine, rules, outbox, clock),
        threads=threads,
        queue_limit=queue_limit,
        overloaded="The server is receiving more events than it can store; retry shortly.",
    )
