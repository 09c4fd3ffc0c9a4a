"""The delivery worker: sends the outbox at least once, in order per build, with backoff.

One thread per server process claims due deliveries (a lease column; on PostgreSQL the
claim skips rows another process is claiming, FOR UPDATE SKIP LOCKED; on SQLite the write
transaction serialises claims), sends them side by side on a small pool, and records each
attempt. A delivery is due when its time has come and no older delivery of the same
subscription and build is still pending, so a build's messages arrive in the order they
were caused. A process that dies mid-send leaves its claimed rows leased; after the lease
another process (or this one, restarted) sends them again: at least once.

Failed attempts are retried with exponential backoff (``webhook_backoff_min`` doubling up
to ``webhook_backoff_max``) until ``webhook_retry_for`` after the delivery became due;
then it is FAILED and waits for a person's redelivery.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from extci.builds import repository as builds
from extci.clock import utcnow
from extci.db import WRITE
from extci.webhooks import observe, repository, signing, transport
from extci.webhooks.models import DeliveryState
from extci.webhooks.payloads import BuildView, Notice, render

log = logging.getLogger("extci.webhooks")
DEPTH_EVERY_SECONDS = 15.0


@dataclass(frozen=True)
class WorkerSettings:
    server_secret: bytes
    base_url: str
    allow_private: bool
    timeout: timedelta
    backoff_min: timedelta
    backoff_max: timedelta
    poll_interval: timedelta
    lease: timedelta
    senders: int


def backoff(attempts: int, low: timedelta, high: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling, capped, with up to a
    quarter more at random so that many failed deliveries do not all return at once."""
    base: timedelta = min(low * (2 ** min(attempts - 1, 30)), high)
    return base * (1 + random.random() / 4)


class DeliveryWorker:
    def __init__(self, engine: Engine, settings: WorkerSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._depth_at = 0.0

    # ---- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self.settings.senders, thread_name_prefix="webhook-send")
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self, timeout: float = 1.0) -> None:
        """Stop claiming; sends in flight get ``timeout`` to finish (an unfinished one is
        sent again after its lease by whichever process comes next)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _run(self) -> None:
        interval = self.settings.poll_interval.total_seconds()
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # the database is away: try again after the interval
                log.warning("webhook delivery round failed", exc_info=True)
                sent = 0
            if not sent:
                self._wake.wait(interval)
                self._wake.clear()

    # ---- one round ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim the due deliveries, send them, record the attempts; how many were sent."""
        now = utcnow()
        self._count_depth()
        lease_until = now + self.settings.lease
        # A read first: an idle round takes no write lock.
        with self.engine.connect() as conn, conn.begin():
            if not repository.claim_possible(conn, now=now):
                return 0
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            rows = repository.claim(
                conn, now=now, lease_until=lease_until, limit=self.settings.senders * 4
            )
        if not rows:
            return 0
        pool = self._pool
        if pool is None or self._stop.is_set():
            for row in rows:
                self.deliver(row, lease_until)
        else:
            for future in [pool.submit(self.deliver, row, lease_until) for row in rows]:
                future.result()
        return len(rows)

    def deliver(self, row: Any, lease: datetime) -> None:
        """Send one claimed delivery and record the attempt."""
        with self.engine.connect() as conn, conn.begin():
            build, results = builds.build_with_results(conn, row.build_id)
        if row.url is None or build is None:  # its subscription or build is gone
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                repository.drop(conn, row.id)
            return
        view = BuildView(
            component_id=build.component_id,
            pipeline_id=build.pipeline_id,
            build_version=build.build_version,
            status=build.status,
            end_result=build.end_result,
            started_at=build.started_at,
            ended_at=build.ended_at,
            branch=build.branch,
            commit_sha=build.commit_sha,
            dashboard_url=build.dashboard_url,
            results=[(r.id, r.type, r.fields) for r in results],
        )
        notice = Notice(
            row.message, row.message_id, row.created_at, view, self.settings.base_url, row.result_id
        )
        outgoing = render(row.format, notice)
        key = signing.secret_bytes(self.settings.server_secret, row.secret_salt)
        headers = {
            **outgoing.headers,
            **signing.headers(key, row.message_id, int(time.time()), outgoing.body),
            "user-agent": "extci-webhooks/1",
        }
        attempted_at = utcnow()
        answer = transport.post(
            row.url,
            outgoing.body,
            headers,
            timeout=self.settings.timeout.total_seconds(),
            allow_private=self.settings.allow_private,
        )
        self._settle(row, lease, attempted_at, answer)

    def _settle(
        self, row: Any, lease: datetime, attempted_at: datetime, answer: transport.Answer
    ) -> None:
        attempts = row.attempts + 1
        now = utcnow()
        if answer.ok:
            state, outcome, next_at = DeliveryState.DELIVERED, "delivered", now
        else:
            wait = backoff(attempts, self.settings.backoff_min, self.settings.backoff_max)
            next_at = min(now + wait, row.retry_until)
            if now >= row.retry_until:
                state, outcome = DeliveryState.FAILED, "abandoned"
            else:
                state, outcome = DeliveryState.PENDING, "failed"
        attempt = {
            "attempted_at": attempted_at,
            "ok": answer.ok,
            "status_code": answer.status,
            "latency_ms": answer.latency_ms,
            "error": answer.error,
            "response_excerpt": answer.excerpt,
        }
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            recorded = repository.settle(
                conn,
                row.id,
                lease=lease,
                state=state,
                next_attempt_at=next_at,
                attempt=attempt,
                delivered_at=now if answer.ok else None,
            )
        if recorded:
            observe.delivery_attempted(outcome)
            if not answer.ok:
                log.info(
                    "webhook delivery %s to subscription %s: %s (attempt %d)",
                    row.message_id,
                    row.subscription_id,
                    answer.status or answer.error,
                    attempts,
                )

    def _count_depth(self) -> None:
        clock = time.monotonic()
        if clock - self._depth_at < DEPTH_EVERY_SECONDS:
            return
        self._depth_at = clock
        with self.engine.connect() as conn, conn.begin():
            observe.set_outbox_depth(repository.pending_count(conn))
