"""The ingest path's side of the outbox: which subscriptions want a build change, and the
delivery rows written in the same transaction as that change.

A component without subscriptions (and no installation-wide subscription) pays a lookup
in a dict: the list of subscriptions is read once per ``ttl`` seconds on the writer's own
connection and kept. Changes made through this process's sessions clear it when they
commit (:func:`invalidate_on_commit`); other processes' within ``ttl``. A subscription
created elsewhere is therefore in force for builds changed at most ``ttl`` later.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from extci.builds import repository as builds
from extci.builds.state import BuildStatus
from extci.commit_hooks import on_commit_changing
from extci.webhooks import repository
from extci.webhooks.models import (
    DeliveryState,
    Message,
    WebhookEvent,
    WebhookFormat,
    WebhookSubscription,
)
from extci.webhooks.payloads import ARTIFACT_TYPES


@dataclass(frozen=True)
class Subscriber:
    id: int
    events: frozenset[str]
    format: str


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float
    by_component: dict[str | None, tuple[Subscriber, ...]]


class SubscriptionCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._snapshot: _Snapshot | None = None

    def matching(self, conn: Connection, component_id: str) -> tuple[Subscriber, ...]:
        snapshot = self._snapshot
        if snapshot is None or self._clock() - snapshot.loaded_at >= self.ttl:
            snapshot = self._load(conn)
        own = snapshot.by_component.get(component_id, ())
        everyone = snapshot.by_component.get(None, ())
        return own + everyone if everyone else own

    def _load(self, conn: Connection) -> _Snapshot:
        by_component: dict[str | None, list[Subscriber]] = {}
        for row in repository.subscriptions(conn):
            subscriber = Subscriber(row.id, frozenset(row.events), row.format)
            by_component.setdefault(row.component_id, []).append(subscriber)
        snapshot = _Snapshot(self._clock(), {k: tuple(v) for k, v in by_component.items()})
        self._snapshot = snapshot
        return snapshot

    def clear(self) -> None:
        self._snapshot = None


def message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


@dataclass
class Outbox:
    cache: SubscriptionCache
    retry_for: timedelta
    first_delay: timedelta = timedelta(0)
    # Called after a transaction that wrote deliveries has committed (the worker's wake-up).
    on_commit: Callable[[], None] = lambda: None
    _written: threading.Event = field(default_factory=threading.Event)

    def build_started(
        self, conn: Connection, component_id: str, build_id: int, now: datetime
    ) -> None:
        subscribers = self.cache.matching(conn, component_id)
        if not subscribers:
            return
        wanted = [s for s in subscribers if WebhookEvent.BUILD_STARTED in s.events]
        self._write(conn, [(s, Message.BUILD_STARTED, None) for s in wanted], build_id, now)

    def build_ended(
        self, conn: Connection, component_id: str, build_id: int, status: str, now: datetime
    ) -> None:
        subscribers = self.cache.matching(conn, component_id)
        if not subscribers:
            return
        messages: list[tuple[Subscriber, Message, int | None]] = []
        artifacts: list[Any] | None = None
        for s in subscribers:
            if WebhookEvent.BUILD_FINISHED in s.events:
                messages.append((s, Message.BUILD_FINISHED, None))
            if status != BuildStatus.SUCCESSFUL or WebhookEvent.BUILD_DEPLOYABLE not in s.events:
                continue
            if s.format == WebhookFormat.STANDARD:
                messages.append((s, Message.BUILD_DEPLOYABLE, None))
                continue
            # CDEvents: each artifact of the deployable build, packaged then published.
            if artifacts is None:
                artifacts = builds.result_ids_of_types(conn, build_id, ARTIFACT_TYPES)
            for artifact in artifacts:
                messages.append((s, Message.ARTIFACT_PACKAGED, artifact.id))
                messages.append((s, Message.ARTIFACT_PUBLISHED, artifact.id))
        self._write(conn, messages, build_id, now)

    def _write(
        self,
        conn: Connection,
        messages: Sequence[tuple[Subscriber, Message, int | None]],
        build_id: int,
        now: datetime,
    ) -> None:
        if not messages:
            return
        due = now + self.first_delay
        rows = [
            {
                "subscription_id": s.id,
                "build_id": build_id,
                "message": m.value,
                "result_id": result_id,
                "message_id": message_id(),
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": due,
                "retry_until": due + self.retry_for,
            }
            for s, m, result_id in messages
        ]
        repository.enqueue(conn, rows)
        self._written.set()

    def committed(self) -> None:
        """The writer committed a transaction: wake the worker if it wrote deliveries."""
        if self._written.is_set():
            self._written.clear()
            self.on_commit()


def invalidate_on_commit(sessions: sessionmaker[Session], cache: SubscriptionCache) -> None:
    """Forget the cached subscriptions when a session of this process commits a change to
    one (created or deleted): this process sees its own changes at once."""

    on_commit_changing(sessions, WebhookSubscription, cache.clear)
