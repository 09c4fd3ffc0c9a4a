"""The ingest path: typed events in, outcomes out, many events per transaction.

It checks each event's key and component and dispatches it; the build changes themselves
are :mod:`extci.builds.service`'s (``apply_start``, ``apply_results``, ``apply_end``).
Kept free of HTTP so it can be called, measured and tuned on its own. The group-commit
writer (:mod:`extci.ingest.writer`) calls :func:`ingest_batch` with the events that queued
up while the previous batch was committing; the caller answers each CI only after the
batch's transaction has committed.

One bad event never fails its batch-mates: the contract's refusals are decided before an
event writes anything, and an event the database refuses is taken out of the batch, which
then runs again without it (see :func:`ingest_batch`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from extci.builds import service as builds
from extci.builds.service import Batch, Outcome, Rules
from extci.components import repository as components
from extci.errors import Conflict, ExtciError, Forbidden, NotFound, Unauthorized
from extci.ingest.events import EndEvent, ResultEvent, StartEvent
from extci.keys import repository as keys
from extci.keys.models import key_status
from extci.keys.service import INVALID_KEY, LAST_USED_RESOLUTION, AuthenticatedKey
from extci.problems import problem_for
from extci.trust import repository as trust
from extci.trust.oidc import INVALID_TOKEN
from extci.webhooks.outbox import Outbox

log = logging.getLogger("extci.ingest")

Event = StartEvent | ResultEvent | EndEvent


# Outcome and Rules are part of this module's interface (the writer, the runtime).
__all__ = [
    "Event",
    "EventFailed",
    "Outcome",
    "Rules",
    "fingerprint",
    "ingest_batch",
    "unknown_identity",
]


@dataclass(frozen=True)
class _Batch:
    """What one batch reads once, before its events: the components' state."""

    write: Batch
    components: Mapping[str, Any]


def fingerprint(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class EventFailed(Exception):
    """The database refused one event after it had begun to write: the caller rolls the
    whole transaction back and runs the batch again without it (its answer is known)."""

    def __init__(self, index: int, answer: ExtciError) -> None:
        super().__init__(answer.detail)
        self.index = index
        self.answer = answer


def unknown_identity(key_id: int) -> Unauthorized:
    """The answer for a CI key (positive id) or trust policy identity (negative) that no
    longer exists or is no longer active."""
    return Unauthorized(INVALID_KEY if key_id > 0 else INVALID_TOKEN)


def ingest_batch(
    conn: Connection,
    jobs: Sequence[tuple[Event, AuthenticatedKey]],
    *,
    now: datetime,
    rules: Rules,
    outbox: Outbox | None = None,
) -> list[Outcome | ExtciError]:
    """Ingest ``jobs`` in the caller's open transaction; one answer per job, in order.

    Every refusal of the contract (401, 403, 404, 409) is decided before the event writes
    anything, so a refused event needs no rollback and its batch-mates go on. When the
    database itself refuses a statement, :class:`EventFailed` says which event: the caller
    rolls back and runs the batch again without it. Anything else that dooms the
    transaction (a lost connection, a locked or full database) propagates as it is.
    """
    key_ids = {key.id for _, key in jobs}
    key_rows = keys.states(conn, key_ids)
    if min(key_ids) < 0:  # identities of trust policies (OIDC tokens): negative ids
        key_rows.update(_policy_states(conn, key_ids))
    wanted = {key.component_id for _, key in jobs}
    wanted.update(e.component_id for e, _ in jobs if isinstance(e, StartEvent))
    write = Batch(conn, now, rules, outbox)
    batch = _Batch(write, components.kinds_and_modes(conn, wanted))
    answers: list[Outcome | ExtciError | None] = [None] * len(jobs)
    used: set[int] = set()
    # Events of one build keep their order; builds are visited in one global order, so two
    # writers of the same builds take their row locks in the same order. (A component
    # delete takes its locks in another order; PostgreSQL then aborts one side, and a
    # deadlock is retried as a whole batch.)
    order = sorted(
        range(len(jobs)), key=lambda i: (jobs[i][1].component_id, jobs[i][0].pipeline_id)
    )
    for i in order:
        event, key = jobs[i]
        row = key_rows.get(key.id)
        if row is None or key_status(row.status, row.expires_at, now) != "ACTIVE":
            # revoked (or the trust policy deleted) since it was authenticated
            answers[i] = unknown_identity(key.id)
            continue
        try:
            answers[i] = ingest(batch, event, key)
        except ExtciError as exc:
            answers[i] = exc
        except DBAPIError as exc:
            problem = problem_for(exc)
            if problem is not None and problem.status >= 500:
                raise  # the transaction itself is in trouble: retried, or 503 for all
            if problem is None:  # a bug of ours: this event alone gets the logged 500
                log.error("event %s of a batch failed", event.pipeline_id, exc_info=exc)
                problem = ExtciError("Something went wrong on the server; it was logged.")
            raise EventFailed(i, problem) from exc
        except SQLAlchemyError as exc:  # e.g. a value the driver could not bind
            log.error("event %s of a batch failed", event.pipeline_id, exc_info=exc)
            bug = ExtciError("Something went wrong on the server; it was logged.")
            raise EventFailed(i, bug) from exc
        used.add(key.id)
    _stamp_last_used(conn, [key_rows[k] for k in sorted(used)], now)
    return [a for a in answers if a is not None]


def _stamp_last_used(conn: Connection, rows: Sequence[Any], now: datetime) -> None:
    """At most one write per key a minute (a conditional UPDATE: holds across processes).
    Last in the transaction, so the key's row lock comes after the builds' and components'
    — the order a component delete takes them in."""
    stale_before = now - LAST_USED_RESOLUTION
    for row in rows:
        if row.last_used_at is None or row.last_used_at < stale_before:
            if row.id > 0:
                keys.stamp_last_used(conn, row.id, now, stale_before)
            else:
                trust.stamp_last_used(conn, -row.id, now, stale_before)


@dataclass(frozen=True)
class _PolicyState:
    """A trust policy's row shaped as a key's (an identity of a policy is ``-policy.id``;
    a policy is active for as long as it exists)."""

    id: int
    component_id: str
    last_used_at: datetime | None
    status: str = "ACTIVE"
    expires_at: datetime | None = None


def _policy_states(conn: Connection, key_ids: set[int]) -> dict[int, _PolicyState]:
    rows = trust.states(conn, {-i for i in key_ids if i < 0})
    return {-r.id: _PolicyState(-r.id, r.component_id, r.last_used_at) for r in rows.values()}


def ingest(batch: _Batch, event: Event, key: AuthenticatedKey) -> Outcome:
    """Dispatch one authenticated event to the build change it asks for."""
    if isinstance(event, StartEvent):
        component = _external_component(batch, event.component_id, key)
        return builds.apply_start(batch.write, event, component.id, _described(event))
    component = _external_component(batch, key.component_id, key)
    # Result and end events are looked up in the key's own component only: another
    # component's run is unknown to this key.
    build = builds.locked_build(batch.write, component.id, event.pipeline_id)
    if isinstance(event, ResultEvent):
        return builds.apply_results(batch.write, event, build, _items(event))
    return builds.apply_end(batch.write, event, build, event.result, component.kind)


def _external_component(batch: _Batch, component_id: str, key: AuthenticatedKey) -> Any:
    component = batch.components.get(component_id)
    if component is None:
        raise NotFound(f"Component {component_id!r} does not exist.")
    if component.id != key.component_id:
        raise Forbidden(f"This CI key is not allowed to report builds of {component_id!r}.")
    if component.ci_mode != "external":
        raise Conflict(
            f"Component {component_id!r} has not been switched to External CI; "
            "its builds come from the platform and its CI events are refused."
        )
    return component


def _described(event: StartEvent) -> dict[str, Any]:
    """The build's columns a start event gives (its fingerprint tells a retry apart)."""
    actor = event.actor
    return {
        "build_version": event.build_version,
        "pipeline_name": event.pipeline_name,
        "dashboard_url": event.dashboard_url,
        "actor_username": actor.username if actor else None,
        "actor_fullname": actor.fullname if actor else None,
        "start_fingerprint": fingerprint(event.content()),
    }


def _items(event: ResultEvent) -> dict[str, tuple[str, dict[str, str]]]:
    """A result event's items by fingerprint (an item sent twice counts once)."""
    items: dict[str, tuple[str, dict[str, str]]] = {}
    for item in event.payload:
        fields = item.fields()
        items.setdefault(fingerprint([item.type, fields]), (item.type, fields))
    return items
