"""All SQL about builds, their results and their timeline."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from extci.builds import state
from extci.builds.models import Build, BuildEvent, BuildResult, branch_key
from extci.components.models import Component
from extci.db import dialect_insert, newest_first

# ---- the ingest path's writes: Core statements on the writer's connection ------------
# The group-commit writer (extci.ingest.writer) runs these on one Connection, many events
# per transaction. Each statement is built once and executed with parameters: building a
# statement per call (and the ORM's unit of work) cost more than the database's own work.

_BUILD = cast(Table, Build.__table__)
_RESULT = cast(Table, BuildResult.__table__)
_EVENT = cast(Table, BuildEvent.__table__)

_SELECT_BUILD = select(_BUILD).where(
    _BUILD.c.component_id == bindparam("component_id"),
    _BUILD.c.pipeline_id == bindparam("pipeline_id"),
)
_SELECT_BUILD_FOR_UPDATE = _SELECT_BUILD.with_for_update()
_INSERT_EVENT = insert(_EVENT)
_UPDATE_BUILD = update(_BUILD).where(_BUILD.c.id == bindparam("build_id_"))
_EXISTING_FINGERPRINTS = select(_RESULT.c.fingerprint).where(
    _RESULT.c.build_id == bindparam("build_id"),
    _RESULT.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
)


@functools.cache
def _insert_start(dialect: str) -> Any:
    return (
        dialect_insert(dialect, _BUILD)
        .on_conflict_do_nothing(index_elements=["component_id", "pipeline_id"])
        .returning(_BUILD.c.id)
    )


@functools.cache
def _insert_result(dialect: str) -> Any:
    return (
        dialect_insert(dialect, _RESULT)
        .on_conflict_do_nothing(index_elements=["build_id", "fingerprint"])
        .returning(_RESULT.c.fingerprint)
    )


def insert_start(conn: Connection, values: dict[str, Any]) -> int | None:
    """Create the build unless its component already has the pipelineId; the unique
    constraint decides races. Returns the new build's id, or None when another request
    (in any process) got there first."""
    return conn.execute(_insert_start(conn.dialect.name), values).scalar_one_or_none()


def by_pipeline(
    bind: Session | Connection, component_id: str, pipeline_id: str, *, for_update: bool = False
) -> Any:
    """The build of a component's pipeline run (an ORM ``Build`` from a Session, a row
    with the same attributes from a Connection). ``for_update`` serialises writers of one
    build: a row lock on PostgreSQL; SQLite write transactions are serial already."""
    if isinstance(bind, Session):
        stmt = select(Build).where(
            Build.component_id == component_id, Build.pipeline_id == pipeline_id
        )
        return bind.execute(stmt).scalar_one_or_none()
    query = _SELECT_BUILD_FOR_UPDATE if for_update else _SELECT_BUILD
    params = {"component_id": component_id, "pipeline_id": pipeline_id}
    return bind.execute(query, params).one_or_none()


def insert_results(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Store result items once each; returns the fingerprints that were new."""
    if not rows:
        return []
    # One multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues").
    return list(conn.execute(_insert_result(conn.dialect.name), list(rows)).scalars())


def existing_fingerprints(conn: Connection, build_id: int, fingerprints: Sequence[str]) -> set[str]:
    params = {"build_id": build_id, "fingerprints": list(fingerprints)}
    return set(conn.execute(_EXISTING_FINGERPRINTS, params).scalars())


def add_event(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(_INSERT_EVENT, values)


def update_build(conn: Connection, build_id: int, **values: Any) -> None:
    conn.execute(_UPDATE_BUILD, {"build_id_": build_id, **values})


@dataclass(frozen=True)
class HistoryFilter:
    status: str | None = None
    branch: str | None = None
    version: str | None = None


def _status_clause(status: str, lost_before: datetime) -> Any:
    if status == state.LOST:
        return and_(Build.status == state.BUILDING, Build.last_event_at < lost_before)
    if status == state.BUILDING:
        return and_(Build.status == state.BUILDING, Build.last_event_at >= lost_before)
    return Build.status == status


def history(
    session: Session,
    component_id: str,
    *,
    filters: HistoryFilter,
    lost_before: datetime,
    after_id: int | None,
    limit: int,
) -> list[Build]:
    """Newest first; ``after_id`` is the keyset cursor (ids only grow)."""
    stmt: Select[Build] = select(Build).where(Build.component_id == component_id)
    if filters.status:
        stmt = stmt.where(_status_clause(filters.status, lost_before))
    if filters.branch:
        stmt = stmt.where(Build.branch_key == branch_key(filters.branch))
        stmt = stmt.where(Build.branch == filters.branch)
    if filters.version:
        stmt = stmt.where(Build.build_version == filters.version)
    return newest_first(session, stmt, Build.id, after_id=after_id, limit=limit)


def latest(session: Session, component_ids: Sequence[str]) -> dict[str, Build]:
    """The newest build of each given component: one index probe per component (the
    newest id under ix_builds_component_id_id), however long the histories are."""
    if not component_ids:
        return {}
    newest = (
        select(func.max(Build.id))
        .where(Build.component_id == Component.id)
        .correlate(Component)
        .scalar_subquery()
    )
    ids = select(newest).select_from(Component).where(Component.id.in_(component_ids))
    rows = session.execute(select(Build).where(Build.id.in_(ids))).scalars()
    return {b.component_id: b for b in rows}


def results(session: Session, build_id: int) -> list[BuildResult]:
    stmt = select(BuildResult).where(BuildResult.build_id == build_id).order_by(BuildResult.id)
    return list(session.execute(stmt).scalars())


def events(session: Session, build_id: int) -> list[BuildEvent]:
    stmt = select(BuildEvent).where(BuildEvent.build_id == build_id).order_by(BuildEvent.id)
    return list(session.execute(stmt).scalars())
