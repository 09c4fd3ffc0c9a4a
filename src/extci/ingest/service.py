"""The ingest path: one typed event, one unit of work, one outcome.

Kept free of HTTP so it can be called, measured and tuned on its own. The caller owns the
transaction and answers the CI only after it has committed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from extci.builds import repository as builds
from extci.builds import state
from extci.builds.models import Build, BuildEvent
from extci.components import repository as components
from extci.components.models import Component
from extci.errors import Conflict, Forbidden, NotFound
from extci.ingest.events import EndEvent, ResultEvent, StartEvent
from extci.keys.service import AuthenticatedKey


@dataclass(frozen=True)
class Outcome:
    pipeline_id: str
    component_id: str
    build_status: str
    duplicate: bool


def fingerprint(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ingest(
    uow: Session,
    event: StartEvent | ResultEvent | EndEvent,
    key: AuthenticatedKey,
    *,
    now: datetime,
    inactivity_timeout: timedelta,
) -> Outcome:
    if isinstance(event, StartEvent):
        return _start(uow, event, key, now, inactivity_timeout)
    build, component = _owned_build(uow, event.pipeline_id, key)
    if isinstance(event, ResultEvent):
        return _results(uow, event, build, now, inactivity_timeout)
    return _end(uow, event, build, component, now)


def _external_component(uow: Session, component_id: str, key: AuthenticatedKey) -> Component:
    component = components.get(uow, component_id)
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


def _outcome(build: Build, now: datetime, timeout: timedelta, duplicate: bool) -> Outcome:
    status = state.visible_status(build.status, build.last_event_at, now, timeout)
    return Outcome(build.pipeline_id, build.component_id, status, duplicate)


def _start(
    uow: Session, event: StartEvent, key: AuthenticatedKey, now: datetime, timeout: timedelta
) -> Outcome:
    component = _external_component(uow, event.component_id, key)
    content = fingerprint(event.content())
    actor = event.actor
    build_id = builds.insert_start(
        uow,
        {
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
            "started_at": event.created_at or now,
            "last_event_at": now,
        },
    )
    if build_id is not None:
        builds.add_event(uow, _event_row(build_id, event.type, event.created_at, now, None))
        return Outcome(event.pipeline_id, component.id, state.BUILDING, duplicate=False)
    existing = builds.by_pipeline(uow, event.pipeline_id)
    assert existing is not None  # the conflict that made the insert a no-op is this row
    if existing.component_id != component.id or existing.start_fingerprint != content:
        raise Conflict(
            f"pipelineId {event.pipeline_id!r} already started a build with different content "
            "or for another component; use a new pipelineId for a new run."
        )
    return _outcome(existing, now, timeout, duplicate=True)


def _owned_build(uow: Session, pipeline_id: str, key: AuthenticatedKey) -> tuple[Build, Component]:
    build = builds.by_pipeline(uow, pipeline_id, for_update=True)
    if build is None:
        raise NotFound(f"No build has pipelineId {pipeline_id!r}; send the start event first.")
    return build, _external_component(uow, build.component_id, key)


def _results(
    uow: Session, event: ResultEvent, build: Build, now: datetime, timeout: timedelta
) -> Outcome:
    items: dict[str, tuple[str, dict[str, str]]] = {}
    for item in event.payload:
        fields = item.fields()
        items.setdefault(fingerprint([item.type, fields]), (item.type, fields))
    if build.status not in state.OPEN_STATUSES:
        # A retry of a result event that was stored before the end is still a no-op.
        if builds.existing_fingerprints(uow, build.id, list(items)) == set(items):
            return _outcome(build, now, timeout, duplicate=True)
        raise Conflict(
            f"The build {build.pipeline_id!r} has ended ({build.status}); "
            "results can no longer be added."
        )
    new = builds.insert_results(
        uow,
        [
            {"build_id": build.id, "type": t, "fingerprint": fp, "fields": f, "received_at": now}
            for fp, (t, f) in items.items()
        ],
    )
    if not new:
        return _outcome(build, now, timeout, duplicate=True)
    new_items = [items[fp] for fp in new]
    changes: dict[str, Any] = {
        "last_event_at": now,
        "result_types": sorted({*build.result_types, *(t for t, _ in new_items)}),
    }
    revision = next((f for t, f in new_items if t == "git-revision"), None)
    if revision is not None and build.branch is None:
        changes["branch"] = revision["branch"]
        changes["commit_sha"] = revision["commitSha"]
    builds.update_build(uow, build.id, **changes)
    summary = ", ".join(sorted({t for t, _ in new_items}))
    builds.add_event(uow, _event_row(build.id, event.type, event.created_at, now, summary))
    return Outcome(build.pipeline_id, build.component_id, state.BUILDING, duplicate=False)


def _end(
    uow: Session, event: EndEvent, build: Build, component: Component, now: datetime
) -> Outcome:
    if build.end_result is not None:
        if build.end_result != event.result:
            raise Conflict(
                f"The build {build.pipeline_id!r} already ended with {build.end_result}; "
                f"it cannot end again with {event.result}."
            )
        return Outcome(build.pipeline_id, build.component_id, build.status, duplicate=True)
    status = state.status_after_end(event.result, component.kind, build.result_types)
    assert state.can_transition(build.status, status)
    builds.update_build(
        uow,
        build.id,
        status=status,
        end_result=event.result,
        ended_at=event.created_at or now,
        last_event_at=now,
    )
    builds.add_event(uow, _event_row(build.id, event.type, event.created_at, now, event.result))
    return Outcome(build.pipeline_id, build.component_id, status, duplicate=False)


def _event_row(
    build_id: int, kind: str, created_at: datetime | None, now: datetime, summary: str | None
) -> BuildEvent:
    return BuildEvent(
        build_id=build_id,
        type=kind,
        created_at=created_at or now,
        received_at=now,
        summary=summary,
    )
