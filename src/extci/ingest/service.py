"""The ingest path: typed events in, outcomes out, many events per transaction.

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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from extci.builds import repository as builds
from extci.builds import state
from extci.builds.models import branch_key
from extci.components import repository as components
from extci.db import problem_for
from extci.errors import Conflict, ExtciError, Forbidden, NotFound, Unauthorized
from extci.ingest.events import EndEvent, ResultEvent, StartEvent
from extci.keys import repository as keys
from extci.keys.models import key_status
from extci.keys.service import INVALID_KEY, LAST_USED_RESOLUTION, AuthenticatedKey
from extci.trust import repository as trust
from extci.trust.oidc import INVALID_TOKEN
from extci.webhooks.outbox import Outbox

log = logging.getLogger("extci.ingest")

Event = StartEvent | ResultEvent | EndEvent


@dataclass(frozen=True)
class Outcome:
    pipeline_id: str
    component_id: str
    build_status: str
    duplicate: bool


@dataclass(frozen=True)
class Rules:
    """The settings the ingest path obeys (from ``EXTCI_*``)."""

    inactivity_timeout: timedelta
    max_results_per_build: int


@dataclass(frozen=True)
class _Batch:
    """What one batch reads once, before its events: the keys' and components' state."""

    conn: Connection
    now: datetime
    rules: Rules
    components: Mapping[str, Any]
    # Webhook deliveries caused by this batch's changes go into the same transaction.
    outbox: Outbox | None = None


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
    batch = _Batch(conn, now, rules, components.kinds_and_modes(conn, wanted), outbox)
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
            answers[i] = Unauthorized(INVALID_KEY if key.id > 0 else INVALID_TOKEN)
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
    if isinstance(event, StartEvent):
        return _start(batch, event, key)
    build = _owned_build(batch, event.pipeline_id, key)
    if isinstance(event, ResultEvent):
        return _results(batch, event, build)
    return _end(batch, event, build)


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


def _outcome(batch: _Batch, build: Any, duplicate: bool) -> Outcome:
    timeout = batch.rules.inactivity_timeout
    status = state.visible_status(build.status, build.last_event_at, batch.now, timeout)
    return Outcome(build.pipeline_id, build.component_id, status, duplicate)


def _start(batch: _Batch, event: StartEvent, key: AuthenticatedKey) -> Outcome:
    component = _external_component(batch, event.component_id, key)
    content = fingerprint(event.content())
    actor = event.actor
    now = batch.now
    build_id = builds.insert_start(
        batch.conn,
        build={
            "pipeline_id": event.pipeline_id,
            "component_id": component.id,
            "build_version": event.build_version,
            "pipeline_name": event.pipeline_name,
            "dashboard_url": event.dashboard_url,
            "actor_username": actor.username if actor else None,
            "actor_fullname": actor.fullname if actor else None,
            "start_fingerprint": content,
            "status": state.BUILDING,
            "result_types": [],
            "result_count": 0,
            "started_at": event.created_at or now,
            "last_event_at": now,
        },
        first_event=_event_row(None, event.type, event.created_at, now, None),
    )
    if build_id is not None:
        if batch.outbox is not None:
            batch.outbox.build_started(batch.conn, component.id, build_id, now)
        return Outcome(event.pipeline_id, component.id, state.BUILDING, duplicate=False)
    existing = builds.by_pipeline(batch.conn, component.id, event.pipeline_id)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish mid-transaction
        raise Conflict(f"pipelineId {event.pipeline_id!r} is being started concurrently; retry.")
    if existing.start_fingerprint != content:
        raise Conflict(
            f"pipelineId {event.pipeline_id!r} already started a build with different "
            "content; use a new pipelineId for a new run."
        )
    return _outcome(batch, existing, duplicate=True)


def _owned_build(batch: _Batch, pipeline_id: str, key: AuthenticatedKey) -> Any:
    """Result and end events are looked up in the key's own component only: another
    component's run is unknown to this key."""
    _external_component(batch, key.component_id, key)
    build = builds.by_pipeline(batch.conn, key.component_id, pipeline_id, for_update=True)
    if build is None:
        raise NotFound(f"No build has pipelineId {pipeline_id!r}; send the start event first.")
    return build


def _results(batch: _Batch, event: ResultEvent, build: Any) -> Outcome:
    items: dict[str, tuple[str, dict[str, str]]] = {}
    for item in event.payload:
        fields = item.fields()
        items.setdefault(fingerprint([item.type, fields]), (item.type, fields))
    if build.status not in state.OPEN_STATUSES:
        # A retry of a result event that was stored before the end is still a no-op.
        if builds.existing_fingerprints(batch.conn, build.id, list(items)) == set(items):
            return _outcome(batch, build, duplicate=True)
        raise Conflict(
            f"The build {build.pipeline_id!r} has ended ({build.status}); "
            "results can no longer be added."
        )
    stored = builds.existing_fingerprints(batch.conn, build.id, list(items))
    fresh = [fp for fp in items if fp not in stored]
    if not fresh:
        return _outcome(batch, build, duplicate=True)
    limit = batch.rules.max_results_per_build
    if build.result_count + len(fresh) > limit:
        raise Conflict(
            f"The build {build.pipeline_id!r} would hold more than {limit} distinct result "
            f"items (it has {build.result_count}, this event adds {len(fresh)}); "
            "nothing of this event was stored (EXTCI_MAX_RESULTS_PER_BUILD)."
        )
    now = batch.now
    # The build's row is locked (PostgreSQL) or the whole database is (SQLite): nobody
    # adds these items meanwhile, so the fresh ones are exactly the new ones.
    new = builds.insert_results(
        batch.conn,
        [
            {"build_id": build.id, "type": t, "fingerprint": fp, "fields": f, "received_at": now}
            for fp in fresh
            for t, f in (items[fp],)
        ],
    )
    new_items = [items[fp] for fp in new]
    changes: dict[str, Any] = {
        "last_event_at": now,
        "result_count": build.result_count + len(new),
        "result_types": sorted({*build.result_types, *(t for t, _ in new_items)}),
    }
    revision = next((f for t, f in new_items if t == "git-revision"), None)
    if revision is not None and build.branch is None:
        changes["branch"] = revision["branch"]
        changes["branch_key"] = branch_key(revision["branch"])
        changes["commit_sha"] = revision["commitSha"]
    builds.update_build(batch.conn, build.id, **changes)
    summary = ", ".join(sorted({t for t, _ in new_items}))
    builds.add_event(batch.conn, _event_row(build.id, event.type, event.created_at, now, summary))
    return Outcome(build.pipeline_id, build.component_id, state.BUILDING, duplicate=False)


def _end(batch: _Batch, event: EndEvent, build: Any) -> Outcome:
    if build.end_result is not None:
        if build.end_result != event.result:
            raise Conflict(
                f"The build {build.pipeline_id!r} already ended with {build.end_result}; "
                f"it cannot end again with {event.result}."
            )
        return Outcome(build.pipeline_id, build.component_id, build.status, duplicate=True)
    kind = batch.components[build.component_id].kind
    status = state.status_after_end(event.result, kind, build.result_types)
    if not state.can_transition(build.status, status):  # pragma: no cover - guarded above
        raise Conflict(f"The build {build.pipeline_id!r} cannot go from {build.status}.")
    now = batch.now
    builds.update_build(
        batch.conn,
        build.id,
        status=status,
        end_result=event.result,
        ended_at=event.created_at or now,
        last_event_at=now,
    )
    builds.add_event(
        batch.conn, _event_row(build.id, event.type, event.created_at, now, event.result)
    )
    if batch.outbox is not None:
        batch.outbox.build_ended(batch.conn, build.component_id, build.id, status, now)
    return Outcome(build.pipeline_id, build.component_id, status, duplicate=False)


def _event_row(
    build_id: int | None, kind: str, created_at: datetime | None, now: datetime, summary: str | None
) -> dict[str, Any]:
    return {
        "build_id": build_id,
        "type": kind,
        "created_at": created_at or now,
        "received_at": now,
        "summary": summary,
    }
