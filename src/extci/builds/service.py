"""Builds: the state changes CI events make (``apply_*``), and reading them back (the
history of a component and the detail of one build).

The writes run inside the ingest writer's batch transaction (:mod:`extci.ingest.writer`):
on the batch's :class:`~sqlalchemy.Connection`, with Core statements built once in
:mod:`extci.builds.repository`, and with every refusal decided before the event writes
anything, so that a refused event needs no rollback and no savepoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from extci.builds import repository, state
from extci.builds.models import Build, BuildEvent, BuildResult, branch_key
from extci.builds.repository import HistoryFilter
from extci.builds.state import AsOf, BuildStatus
from extci.components import service as components
from extci.errors import Conflict, FieldError, NotFound, ValidationFailed
from extci.pagination import BIG_MAX_ID, Page, decode_id_cursor, encode_cursor, page_of
from extci.validation import search_text
from extci.webhooks.outbox import Outbox

# HistoryFilter is part of this service's interface; edges import it from here.
__all__ = [
    "Batch",
    "BuildDetail",
    "BuildView",
    "HistoryFilter",
    "Outcome",
    "Reported",
    "Rules",
    "apply_end",
    "apply_results",
    "apply_start",
    "detail",
    "history",
    "latest",
    "locked_build",
    "view",
]


# --- Writing: what a CI event changes ------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The settings build changes obey (from ``EXTCI_*``)."""

    inactivity_timeout: timedelta
    max_results_per_build: int


@dataclass(frozen=True)
class Batch:
    """What the events of one batch share: its open transaction, its time, the rules and
    the webhook outbox (deliveries caused by a change go into the same transaction)."""

    conn: Connection
    now: datetime
    rules: Rules
    outbox: Outbox | None = None


@dataclass(frozen=True)
class Outcome:
    """What an event did to its build: the status readers now see (LOST included), and
    whether it was a retry of an event already stored (``duplicate``: nothing changed)."""

    pipeline_id: str
    component_id: str
    build_status: str
    duplicate: bool


class Reported(Protocol):
    """What every CI event says of itself (the wire events of :mod:`extci.ingest.events`)."""

    @property
    def type(self) -> str: ...
    @property
    def pipeline_id(self) -> str: ...
    @property
    def created_at(self) -> datetime | None: ...


# What a result event adds: its items by fingerprint, each as (type, fields).
Items = Mapping[str, tuple[str, dict[str, str]]]


def outcome(batch: Batch, build: Any, duplicate: bool) -> Outcome:
    as_of = AsOf(batch.now, batch.rules.inactivity_timeout)
    status = as_of.visible_status(build.status, build.last_event_at)
    return Outcome(build.pipeline_id, build.component_id, status, duplicate)


def apply_start(
    batch: Batch, event: Reported, component_id: str, described: Mapping[str, Any]
) -> Outcome:
    """Open the build ``event`` starts, or answer a retry of that start as a duplicate.
    ``described``: the build's columns taken from the event (version, names, actor and
    ``start_fingerprint``, which tells a retry from a different run)."""
    now = batch.now
    build_id = repository.insert_start(
        batch.conn,
        build={
            **described,
            "pipeline_id": event.pipeline_id,
            "component_id": component_id,
            "status": BuildStatus.BUILDING,
            "result_types": [],
            "result_count": 0,
            "started_at": event.created_at or now,
            "last_event_at": now,
        },
        first_event=_event_row(None, event, now, None),
    )
    if build_id is not None:
        if batch.outbox is not None:
            batch.outbox.build_started(batch.conn, component_id, build_id, now)
        return Outcome(event.pipeline_id, component_id, BuildStatus.BUILDING, duplicate=False)
    existing = repository.by_pipeline(batch.conn, component_id, event.pipeline_id)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish mid-transaction
        raise Conflict(f"pipelineId {event.pipeline_id!r} is being started concurrently; retry.")
    if existing.start_fingerprint != described["start_fingerprint"]:
        raise Conflict(
            f"pipelineId {event.pipeline_id!r} already started a build with different "
            "content; use a new pipelineId for a new run."
        )
    return outcome(batch, existing, duplicate=True)


def locked_build(batch: Batch, component_id: str, pipeline_id: str) -> Any:
    """The build a result or end event is about, its row locked for the change."""
    build = repository.by_pipeline(batch.conn, component_id, pipeline_id, for_update=True)
    if build is None:
        raise NotFound(f"No build has pipelineId {pipeline_id!r}; send the start event first.")
    return build


def apply_results(batch: Batch, event: Reported, build: Any, items: Items) -> Outcome:
    """Add the items not stored yet; a build that has ended takes none (a retry of items
    stored before the end is still a no-op)."""
    if build.status not in state.OPEN_STATUSES:
        if repository.existing_fingerprints(batch.conn, build.id, list(items)) == set(items):
            return outcome(batch, build, duplicate=True)
        raise Conflict(
            f"The build {build.pipeline_id!r} has ended ({build.status}); "
            "results can no longer be added."
        )
    stored = repository.existing_fingerprints(batch.conn, build.id, list(items))
    fresh = [fp for fp in items if fp not in stored]
    if not fresh:
        return outcome(batch, build, duplicate=True)
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
    new = repository.insert_results(
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
    repository.update_build(batch.conn, build.id, **changes)
    summary = ", ".join(sorted({t for t, _ in new_items}))
    repository.add_event(batch.conn, _event_row(build.id, event, now, summary))
    return Outcome(build.pipeline_id, build.component_id, BuildStatus.BUILDING, duplicate=False)


def apply_end(batch: Batch, event: Reported, build: Any, result: str, kind: str) -> Outcome:
    """End the build with ``result`` (the wire's SUCCESSFUL, FAILED or CANCELED); a
    SUCCESSFUL end missing results ``kind`` requires makes it INCOMPLETE."""
    if build.end_result is not None:
        if build.end_result != result:
            raise Conflict(
                f"The build {build.pipeline_id!r} already ended with {build.end_result}; "
                f"it cannot end again with {result}."
            )
        return Outcome(build.pipeline_id, build.component_id, build.status, duplicate=True)
    status = state.status_after_end(result, kind, build.result_types)
    try:
        state.check_transition(build.status, status)
    except state.IllegalTransition as exc:  # pragma: no cover - an ended build returned above
        raise Conflict(f"The build {build.pipeline_id!r} cannot go from {build.status}.") from exc
    now = batch.now
    repository.update_build(
        batch.conn,
        build.id,
        status=status,
        end_result=result,
        ended_at=event.created_at or now,
        last_event_at=now,
    )
    repository.add_event(batch.conn, _event_row(build.id, event, now, result))
    if batch.outbox is not None:
        batch.outbox.build_ended(batch.conn, build.component_id, build.id, status, now)
    return Outcome(build.pipeline_id, build.component_id, status, duplicate=False)


def _event_row(
    build_id: int | None, event: Reported, now: datetime, summary: str | None
) -> dict[str, Any]:
    return {
        "build_id": build_id,
        "type": event.type,
        "created_at": event.created_at or now,
        "received_at": now,
        "summary": summary,
    }


# --- Reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildView:
    """A build as readers see it: the stored row plus the derived status."""

    build: Build
    status: str

    @property
    def duration_seconds(self) -> float | None:
        b = self.build
        if b.ended_at is None:
            return None
        return max(0.0, (b.ended_at - b.started_at).total_seconds())


# A build holds up to EXTCI_MAX_RESULTS_PER_BUILD (1,000) results: its detail shows them a
# page at a time, so neither the API document nor the page grows with them.
RESULTS_PAGE = 200


@dataclass(frozen=True)
class BuildDetail:
    view: BuildView
    kind: str
    results: list[BuildResult]  # one page of them, oldest first
    results_next_cursor: str | None
    git_revision: BuildResult | None  # the first git-revision, wherever it is paged
    events: list[BuildEvent]

    @property
    def required(self) -> list[tuple[str, bool]]:
        present = frozenset(self.view.build.result_types)
        return [(r.label, r.satisfied_by(present)) for r in state.requirements(self.kind)]

    @property
    def missing(self) -> list[str]:
        return [label for label, ok in self.required if not ok]


def view(build: Build, as_of: AsOf) -> BuildView:
    return BuildView(build, as_of.visible_status(build.status, build.last_event_at))


def history(
    session: Session,
    component_id: str,
    *,
    filters: HistoryFilter,
    as_of: AsOf,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[BuildView]:
    components.get(session, component_id)
    if filters.status is not None and filters.status not in list(BuildStatus):
        raise ValidationFailed(
            f"Unknown build status {filters.status!r}.",
            errors=[FieldError("/status", "must be one of: " + ", ".join(BuildStatus))],
        )
    search_text(filters.branch, "/branch")
    search_text(filters.version, "/version")
    rows = repository.history(
        session,
        component_id,
        filters=filters,
        lost_before=as_of.lost_before,
        after_id=decode_id_cursor(cursor, BIG_MAX_ID),
        limit=limit + 1,
    )
    page = page_of(rows, limit, lambda b: encode_cursor(b.id))
    return Page([view(b, as_of) for b in page.items], page.next_cursor)


def detail(
    session: Session,
    component_id: str,
    pipeline_id: str,
    *,
    as_of: AsOf,
    results_cursor: str | None = None,
    results_limit: int = RESULTS_PAGE,
) -> BuildDetail:
    component = components.get(session, component_id)
    build = repository.by_pipeline(session, component_id, pipeline_id)
    if build is None:
        raise NotFound(f"Component {component_id!r} has no build {pipeline_id!r}.")
    after = decode_id_cursor(results_cursor, BIG_MAX_ID, pointer="/resultsCursor")
    rows = repository.results(session, build.id, after_id=after, limit=results_limit + 1)
    page = page_of(rows, results_limit, lambda r: encode_cursor(r.id))
    revisions = repository.results(session, build.id, kind="git-revision", limit=1)
    return BuildDetail(
        view(build, as_of),
        component.kind,
        page.items,
        page.next_cursor,
        revisions[0] if revisions else None,
        repository.events(session, build.id),
    )


def latest(session: Session, component_ids: list[str], as_of: AsOf) -> dict[str, BuildView]:
    return {cid: view(b, as_of) for cid, b in repository.latest(session, component_ids).items()}
