"""Live build updates: tell open pages that a component's builds changed.

The webhook calls :func:`publish` after its transaction has committed; pages listen through
server-sent events (``extci.web``). Publishing never blocks and never raises: it puts the
change on in-memory queues and returns, so the CI's answer is not delayed by the UI.

- One process (SQLite): an in-process asyncio fan-out is all there is.
- Several processes on one PostgreSQL: the same local fan-out, plus ``NOTIFY`` on one
  channel that every process ``LISTEN``s to, so a page served by process B hears of an event
  received by process A. The NOTIFY is sent after the commit by a background task on a
  connection of its own (not inside the ingest transaction): the hot path gains no statement
  and no failure mode, at the price that a crash between commit and NOTIFY loses one live
  nudge, which the page recovers from on its next event or reconnect (it re-reads the
  database on every nudge, so nothing is ever stale for long).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger("extci.notify")

CHANNEL = "extci_builds"
QUEUE_SIZE = 64
# Changes per NOTIFY: about 100 bytes each, PostgreSQL allows 8,000 per payload.
NOTIFY_BATCH = 40
RECONNECT_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class Change:
    component_id: str
    pipeline_id: str
    status: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "componentId": self.component_id,
                "pipelineId": self.pipeline_id,
                "status": self.status,
            }
        )


class Subscription:
    """One listener's queue; ``None`` on the queue means the broadcaster closed."""

    def __init__(self, component_id: str) -> None:
        self.component_id = component_id
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, item: Change | None) -> None:
        # The page re-reads the database on every nudge, so when a slow reader's queue is
        # full, dropping the oldest nudge loses nothing.
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(item)


class Broadcaster:
    """Fan-out of build changes to subscribers, across processes when on PostgreSQL.

    Every method runs on the event loop thread (the webhook route is async).
    """

    def __init__(self, database_url: str) -> None:
        self.origin = uuid.uuid4().hex
        self._subscribers: dict[str, set[Subscription]] = {}
        self._conninfo: str | None = None
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql":
            self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._outbox: asyncio.Queue[Change] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: Any = None
        self._closed = False
        self.listening = asyncio.Event()

    # ---- publishing ---------------------------------------------------------------

    def publish(self, change: Change) -> None:
        self._deliver(change)
        if self._conninfo is None or self._closed:
            return
        self._start()
        assert self._outbox is not None
        if self._outbox.full():
            log.warning("live updates: NOTIFY backlog full, dropping a nudge")
            return
        self._outbox.put_nowait(change)

    def _deliver(self, change: Change) -> None:
        for sub in tuple(self._subscribers.get(change.component_id, ())):
            sub.offer(change)

    # ---- subscribing --------------------------------------------------------------

    def subscribe(self, component_id: str) -> Subscription:
        sub = Subscription(component_id)
        self._subscribers.setdefault(component_id, set()).add(sub)
        if self._conninfo is not None and not self._closed:
            self._start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscribers.get(sub.component_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.component_id]

    @contextlib.contextmanager
    def subscription(self, component_id: str) -> Iterator[Subscription]:
        sub = self.subscribe(component_id)
        try:
            yield sub
        finally:
            self.unsubscribe(sub)

    async def ready(self, timeout: float) -> bool:
        """True once changes from other processes are heard (at once without PostgreSQL)."""
        if self._conninfo is None:
            return True
        self._start()
        try:
            await asyncio.wait_for(self.listening.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ---- PostgreSQL ---------------------------------------------------------------

    def start(self) -> None:
        """Begin listening now rather than at the first subscriber (call on the loop)."""
        if self._conninfo is not None and not self._closed:
            self._start()

    def _start(self) -> None:
        if self._tasks:
            return
        self._outbox = asyncio.Queue(1024)
        self._tasks = [
            asyncio.create_task(self._listen(), name="extci-live-listen"),
            asyncio.create_task(self._send(), name="extci-live-notify"),
        ]

    async def _connect(self) -> Any:
        import psycopg

        assert self._conninfo is not None
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _listen(self) -> None:
        delay = 0.2
        while not self._closed:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    delay = 0.2
                    async for note in conn.notifies():
                        self._receive(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live updates: LISTEN connection lost (%s); retrying", exc)
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _receive(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data["o"] == self.origin:
                return  # this process already delivered it locally
            changes = [Change(str(c), str(p), str(s)) for c, p, s in data["c"]]
        except (ValueError, KeyError, TypeError):
            log.warning("live updates: ignoring a malformed notification")
            return
        for change in changes:
            self._deliver(change)

    async def _send(self) -> None:
        """One NOTIFY carries every change that queued up meanwhile (at most
        ``NOTIFY_BATCH``, to stay well under PostgreSQL's 8,000-byte payload limit)."""
        assert self._outbox is not None
        try:
            while True:
                changes = [await self._outbox.get()]
                while len(changes) < NOTIFY_BATCH and not self._outbox.empty():
                    changes.append(self._outbox.get_nowait())
                payload = json.dumps(
                    {
                        "o": self.origin,
                        "c": [[c.component_id, c.pipeline_id, c.status] for c in changes],
                    }
                )
                await self._notify(payload)
        finally:
            if self._sender is not None:
                with contextlib.suppress(Exception):
                    await self._sender.close()
                self._sender = None

    async def _notify(self, payload: str) -> None:
        for attempt in range(2):
            try:
                if self._sender is None or self._sender.closed:
                    self._sender = await self._connect()
                await self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._sender = None
                if attempt:
                    log.warning("live updates: NOTIFY failed (%s); nudge dropped", exc)

    async def aclose(self) -> None:
        self._closed = True
        for subs in tuple(self._subscribers.values()):
            for sub in tuple(subs):
                sub.offer(None)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []


def publish(state: Any, component_id: str, pipeline_id: str, status: str) -> None:
    """The webhook's hook: fire-and-forget, never raises, does nothing without a UI."""
    broadcaster: Broadcaster | None = getattr(state, "broadcaster", None)
    if broadcaster is None:
        return
    try:
        broadcaster.publish(Change(component_id, pipeline_id, status))
    except Exception:
        log.exception("live updates: publish failed (the event itself was stored)")
