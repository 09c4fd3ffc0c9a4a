"""Machinery shared by the fault tests: whole pipeline runs sent the way a CI reporter sends
them (retrying anything that got no 200), a tally of every answer, and a look straight into
the database to check what a 200 promised."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import Engine, create_engine, text

from extci.db import sqlite_path
from tests.support import events as ev

# Answers a CI may see while the server is faulty; anything else breaks the contract (§6).
TRANSIENT = frozenset({429, 503})
# Load tests must not be throttled by the per-key budget (its own test sets it low).
NO_RATE_LIMIT = {"EXTCI_RATE_LIMIT_PER_MINUTE": "100000000"}


def pipeline_events(pipeline_id: str, component_id: str) -> list[dict[str, Any]]:
    """One whole deployable run: start, two result events with distinct items, end."""
    return [
        ev.start(pipeline_id, component_id, version="1.0.0"),
        ev.result(pipeline_id, *ev.deployable()),
        ev.result(pipeline_id, ev.link(name=f"log of {pipeline_id}")),
        ev.end(pipeline_id, "SUCCESSFUL"),
    ]


EXPECTED_RESULTS_PER_RUN = 4  # git-revision, container, helm, link
EXPECTED_TIMELINE = [
    "codenow.ci.start.event",
    "codenow.ci.result.event",
    "codenow.ci.result.event",
    "codenow.ci.end.event",
]


@dataclass
class Tally:
    """Every answer the load saw, and every contract breach it noticed."""

    answers: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    retried: int = 0
    runs_done: int = 0
    breaches: list[str] = field(default_factory=list)
    missing_retry_after: int = 0

    def note(self, response: httpx.Response | None, error: BaseException | None) -> None:
        if response is None:
            self.answers[type(error).__name__] += 1
            return
        self.answers[str(response.status_code)] += 1
        if response.status_code in TRANSIENT and "retry-after" not in response.headers:
            self.missing_retry_after += 1

    def summary(self) -> str:
        mix = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        return (
            f"runs completed {self.runs_done}, events acknowledged {self.acknowledged}, "
            f"retries {self.retried}; answers {{{mix}}}"
        )


def headers_for(key: str) -> dict[str, str]:
    return {**ev.HEADERS, "X-Codenow-Api-Key": key}


async def send_until_acknowledged(
    client: httpx.AsyncClient,
    event: dict[str, Any],
    key: str,
    tally: Tally,
    *,
    deadline: Callable[[], float],
) -> dict[str, Any]:
    """Send one event until it gets a 200, as the reporter does: a connection error, a
    time-out, a 429 or a 503 is retried after a growing pause (0.1 s doubling to 1 s, with
    jitter, so a restarting server is not starved of CPU); any other answer is a breach of
    the contract."""
    body = json.dumps(event).encode()
    pause = 0.1
    first = True
    while True:
        if not first:
            tally.retried += 1
        first = False
        response: httpx.Response | None = None
        error: BaseException | None = None
        try:
            response = await client.post("/ci/webhook", content=body, headers=headers_for(key))
        except httpx.TransportError as exc:
            error = exc
        tally.note(response, error)
        if response is not None and response.status_code == 200:
            tally.acknowledged += 1
            answer: dict[str, Any] = response.json()
            return answer
        if response is not None and response.status_code not in TRANSIENT:
            tally.breaches.append(
                f"{event['type']} {event['pipelineId']}: {response.status_code} {response.text}"
            )
            raise AssertionError(tally.breaches[-1])
        if time.monotonic() > deadline():
            raise TimeoutError(f"{event['pipelineId']} not acknowledged before the deadline")
        await asyncio.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 1.0)


@dataclass
class RunLoad:
    """Closed-loop load: ``connections`` workers, each sending whole pipeline runs with
    unique ids one after the other until ``finish`` is called; runs in progress are then
    finished, each event retried until acknowledged for at most ``drain_seconds``."""

    url: str
    key: str
    component_id: str
    connections: int
    prefix: str = "run"
    tally: Tally = field(default_factory=Tally)
    started_runs: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    drain_seconds: float = 30.0
    deadline: float = float("inf")

    def finish(self) -> None:
        self.deadline = time.monotonic() + self.drain_seconds
        self.stop.set()

    async def run(self, *, timeout: float = 10.0) -> None:
        limits = httpx.Limits(max_connections=self.connections)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=timeout) as client:
            await asyncio.gather(*(self._worker(client, n) for n in range(self.connections)))

    async def _worker(self, client: httpx.AsyncClient, n: int) -> None:
        sequence = 0
        while not self.stop.is_set():
            pipeline_id = f"{self.prefix}-{n}-{sequence}"
            sequence += 1
            self.started_runs.append(pipeline_id)
            for event in pipeline_events(pipeline_id, self.component_id):
                await send_until_acknowledged(
                    client, event, self.key, self.tally, deadline=lambda: self.deadline
                )
            self.tally.runs_done += 1


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]


async def post_once(port: int, path: str, body: bytes, headers: dict[str, str]) -> RawAnswer:
    """One POST on a connection of its own (as ``curl`` in a CI step does), read to the end.

    Plain asyncio streams rather than httpx: an open-loop load generator in Python must
    spend as little CPU per request as possible, or it, not the server, sets the pace.
    Raises OSError or asyncio.IncompleteReadError when the connection fails; the caller
    bounds the time with ``asyncio.wait_for``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    if not raw:
        raise asyncio.IncompleteReadError(raw, None)
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    found = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    return RawAnswer(int(lines[0].split()[1]), {k.lower(): v.strip() for k, v in found.items()})


# ---- the database, read directly ---------------------------------------------------------


@dataclass(frozen=True)
class StoredBuild:
    pipeline_id: str
    status: str
    end_result: str | None
    results: int
    distinct_results: int
    timeline: tuple[str, ...]


class Store:
    """Read-only SQL over the tables a 200 promises to have written."""

    def __init__(self, database_url: str) -> None:
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        self.url = database_url

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        engine = create_engine(self.url)
        try:
            yield engine
        finally:
            engine.dispose()

    def builds(self, component_id: str) -> dict[str, StoredBuild]:
        with self.engine() as engine, engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT b.id, b.pipeline_id, b.status, b.end_result,"
                    " (SELECT count(*) FROM build_results r WHERE r.build_id = b.id),"
                    " (SELECT count(DISTINCT r.fingerprint) FROM build_results r"
                    "   WHERE r.build_id = b.id)"
                    " FROM builds b WHERE b.component_id = :c"
                ),
                {"c": component_id},
            ).all()
            timeline: dict[int, list[str]] = {}
            for build_id, kind in conn.execute(
                text(
                    "SELECT e.build_id, e.type FROM build_events e JOIN builds b"
                    " ON b.id = e.build_id WHERE b.component_id = :c ORDER BY e.id"
                ),
                {"c": component_id},
            ):
                timeline.setdefault(build_id, []).append(kind)
        found: dict[str, StoredBuild] = {}
        for build_id, pipeline_id, status, end_result, results, distinct in rows:
            assert pipeline_id not in found, f"{pipeline_id} stored twice"
            found[pipeline_id] = StoredBuild(
                pipeline_id,
                status,
                end_result,
                results,
                distinct,
                tuple(timeline.get(build_id, ())),
            )
        return found

    def integrity_check(self) -> str:
        """SQLite's own check of the file (``ok`` when sound); PostgreSQL has no equivalent
        and answers ``ok`` (its WAL recovery is the server's job)."""
        path = sqlite_path(self.url)
        if path is None:
            return "ok"
        import sqlite3

        with sqlite3.connect(path) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)


def assert_runs_stored_once(store: Store, component_id: str, acknowledged: list[str]) -> None:
    """Every acknowledged run is stored whole and exactly once, and nothing else is stored:
    one build, four result items once each, one timeline entry per event, ended."""
    builds = store.builds(component_id)
    assert sorted(builds) == sorted(acknowledged), (
        f"stored {len(builds)} builds for {len(acknowledged)} acknowledged runs; "
        f"missing {sorted(set(acknowledged) - set(builds))[:5]}, "
        f"unexpected {sorted(set(builds) - set(acknowledged))[:5]}"
    )
    broken = [
        b
        for b in builds.values()
        if (b.status, b.end_result) != ("SUCCESSFUL", "SUCCESSFUL")
        or b.results != EXPECTED_RESULTS_PER_RUN
        or b.distinct_results != EXPECTED_RESULTS_PER_RUN
        or list(b.timeline) != EXPECTED_TIMELINE
    ]
    assert not broken, f"{len(broken)} builds half-written or doubled, e.g. {broken[:3]}"


# ---- the server process ------------------------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB, from /proc."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


def fault_seed() -> int:
    """A seed for the random moments of a fault test: ``EXTCI_FAULT_SEED`` replays a run."""
    raw = os.environ.get("EXTCI_FAULT_SEED")
    return int(raw) if raw else random.SystemRandom().randrange(2**32)
