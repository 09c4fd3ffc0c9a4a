"""Graceful shutdown (issue 9, item 4, and item 3's "shutdown in progress"): SIGTERM during
load lets requests in flight finish with 200 (stored) or fail at the client (not stored),
never a 200 for something not stored; answers during shutdown are 200 or 503 with
Retry-After; the process exits within its configured grace period.

Each request here is a start event with a pipelineId of its own and is sent once, so
whether it was stored tells exactly what its answer promised."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx2 as httpx
import pytest

from tests.faults.conftest import MakeServer, Servers
from tests.faults.support import NO_RATE_LIMIT, Store, headers_for
from tests.support import events as ev
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

GRACE_SECONDS = 3
# Python's interpreter exit and the engine's disposal after the grace period has run out.
EXIT_SLACK_SECONDS = 2.0


@dataclass
class Sent:
    acknowledged: list[str] = field(default_factory=list)
    failed_at_client: list[str] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    breaches: list[str] = field(default_factory=list)

    async def one(self, client: httpx.AsyncClient, pipeline_id: str, key: str) -> None:
        body = json.dumps(ev.start(pipeline_id, "shutdown")).encode()
        try:
            r = await client.post("/ci/webhook", content=body, headers=headers_for(key))
        except httpx.TransportError as exc:
            self.answers[type(exc).__name__] += 1
            self.failed_at_client.append(pipeline_id)
            return
        self.answers[str(r.status_code)] += 1
        if r.status_code == 200:
            self.acknowledged.append(pipeline_id)
        elif r.status_code != 503 or not r.headers.get("retry-after", "").isdigit():
            self.breaches.append(f"{pipeline_id}: {r.status_code} {r.text}")


def assert_answers_kept(sent: Sent, server: LiveServer, component_id: str) -> None:
    stored = set(Store(server.database_url).builds(component_id))
    print(
        f"\nshutdown: answers {dict(sent.answers)}; acknowledged {len(sent.acknowledged)}, "
        f"failed at the client {len(sent.failed_at_client)}, stored {len(stored)}"
    )
    assert not sent.breaches, sent.breaches[:5]
    assert set(sent.acknowledged) <= stored, "a 200 for an event that was not stored"
    stored_unanswered = stored & set(sent.failed_at_client)
    assert not stored_unanswered, f"stored but never answered: {sorted(stored_unanswered)[:5]}"


def terminate_and_time(server: LiveServer) -> float:
    assert server.process is not None
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=60)
    return time.monotonic() - signalled


def test_sigterm_during_load_finishes_what_it_answers_and_exits_in_time(
    make_server: MakeServer,
) -> None:
    server = make_server(EXTCI_SHUTDOWN_GRACE_PERIOD=f"{GRACE_SECONDS}s", **NO_RATE_LIMIT)
    key = server.external_component("shutdown")
    sent = Sent()
    exit_seconds: list[float] = []

    async def worker(client: httpx.AsyncClient, n: int, stop: asyncio.Event) -> None:
        sequence = 0
        while not stop.is_set():
            await sent.one(client, f"term-{n}-{sequence}", key)
            sequence += 1

    async def main() -> None:
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            workers = [asyncio.create_task(worker(client, n, stop)) for n in range(16)]
            await asyncio.sleep(1.5)
            exit_seconds.append(await asyncio.to_thread(terminate_and_time, server))
            stop.set()
            await asyncio.gather(*workers)

    asyncio.run(main())
    print(f"\nshutdown: exited {exit_seconds[0]:.2f} s after SIGTERM (grace {GRACE_SECONDS} s)")
    assert sent.acknowledged, "the load never got going"
    assert_answers_kept(sent, server, "shutdown")
    assert exit_seconds[0] <= GRACE_SECONDS + EXIT_SLACK_SECONDS


def test_sigterm_with_requests_stuck_on_the_database_exits_within_the_grace_period(
    servers: Servers, sqlite_url: str
) -> None:
    """Requests that cannot finish (the SQLite write lock is held by another process for
    longer than the grace period) must not hold the process past it, and must not be
    stored once their client has been cut off."""
    server = servers.on(
        sqlite_url,
        EXTCI_SHUTDOWN_GRACE_PERIOD=f"{GRACE_SECONDS}s",
        EXTCI_SQLITE_BUSY_TIMEOUT="20s",
        **NO_RATE_LIMIT,
    )
    key = server.external_component("shutdown")
    holder = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None, timeout=5)
    sent = Sent()
    exit_seconds: list[float] = []

    async def main() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            holder.execute("BEGIN IMMEDIATE")
            try:
                stuck = [asyncio.create_task(sent.one(client, f"stuck-{n}", key)) for n in range(3)]
                await asyncio.sleep(1.0)  # in flight, waiting for the lock
                assert server.process is not None
                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                deadline = signalled + GRACE_SECONDS + EXIT_SLACK_SECONDS + 15
                while server.process.poll() is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                exit_seconds.append(time.monotonic() - signalled)
            finally:
                holder.execute("ROLLBACK")
            await asyncio.gather(*stuck)
        assert server.process is not None
        server.process.wait(timeout=30)

    try:
        asyncio.run(main())
    finally:
        holder.close()
    print(f"\nshutdown with stuck requests: exited after {exit_seconds[0]:.2f} s")
    assert_answers_kept(sent, server, "shutdown")
    assert exit_seconds[0] <= GRACE_SECONDS + EXIT_SLACK_SECONDS
