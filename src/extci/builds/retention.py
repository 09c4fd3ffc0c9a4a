"""Retention: with ``EXTCI_RETENTION`` set (e.g. ``180d``; off by default), builds whose
last event is older than that are deleted in the background, with their results and
timeline, a small batch per transaction so that the webhook's writer is never held up for
long. Always kept, however old: each component's newest build per status, and its newest
deployable (SUCCESSFUL) build per branch. ``extci builds prune`` does the same on demand
(``--dry-run`` shows what would go).

The time comes from :func:`extci.clock.utcnow`, looked up on each call, so tests set it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from extci import clock
from extci.builds import repository
from extci.db import WRITE

log = logging.getLogger("extci.retention")

BATCH = 200
# Between two batches the writer gets the database for itself.
PAUSE_SECONDS = 0.05
INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Prunable:
    component_id: str
    builds: int
    newest_last_event: datetime


def cutoff_for(older_than: timedelta) -> datetime:
    return clock.utcnow() - older_than


def preview(engine: Engine, older_than: timedelta) -> list[Prunable]:
    """What a prune would delete now, per component."""
    with engine.connect() as conn:
        rows = repository.prunable_per_component(conn, cutoff_for(older_than))
    return [Prunable(*row) for row in rows]


def prune(
    engine: Engine,
    older_than: timedelta,
    *,
    batch: int = BATCH,
    pause: float = PAUSE_SECONDS,
    stop: threading.Event | None = None,
) -> int:
    """Delete prunable builds, ``batch`` per transaction, until none is left (or ``stop``
    is set, or another process holds the pruning lock); how many were deleted."""
    stop = stop or threading.Event()
    cutoff = cutoff_for(older_than)
    total = 0
    with engine.connect() as conn:
        conn = conn.execution_options(**WRITE)
        while not stop.is_set():
            with conn.begin():
                if not repository.retention_lock(conn):
                    break
                deleted = repository.prune_batch(conn, cutoff, batch)
            total += deleted
            if deleted < batch:
                break
            stop.wait(pause)
    return total


class RetentionTask:
    """The background pruner of one server process: a pass at start, then every
    ``interval``."""

    def __init__(self, engine: Engine, older_than: timedelta, interval: timedelta = INTERVAL):
        self.engine = engine
        self.older_than = older_than
        self.interval = interval.total_seconds()
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deleted = await run_in_threadpool(
                    prune, self.engine, self.older_than, stop=self._stop
                )
                if deleted:
                    log.info("retention: deleted %d builds older than %s", deleted, self.older_than)
            except Exception:
                log.exception("retention: pruning failed; trying again later")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
