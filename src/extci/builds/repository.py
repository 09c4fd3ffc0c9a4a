"""All SQL about builds, their results and their timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.orm import Session

from extci.builds import state
from extci.builds.models import Build, BuildEvent, BuildResult
from extci.db import insert_for, newest_first


def insert_start(session: Session, values: dict[str, Any]) -> int | None:
    """Create the build unless its pipelineId exists; the unique constraint decides races.

    Returns the new build's id, or None when another request (in any process) got there first.
    """
    stmt = (
        insert_for(session, Build)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["pipeline_id"])
        .returning(Build.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def by_pipeline(session: Session, pipeline_id: str, *, for_update: bool = False) -> Build | None:
    """The build of a pipeline run; ``for_update`` serialises writers of one build
    (a row lock on PostgreSQL; SQLite write transactions are serial already)."""
    stmt = select(Build).where(Build.pipeline_id == pipeline_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def insert_results(session: Session, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Store result items once each; returns the fingerprints that were new."""
    if not rows:
        return []
    stmt = (
        insert_for(session, BuildResult)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["build_id", "fingerprint"])
        .returning(BuildResult.fingerprint)
    )
    return list(session.execute(stmt).scalars())


def existing_fingerprints(session: Session, build_id: int, fingerprints: Sequence[str]) -> set[str]:
    stmt = select(BuildResult.fingerprint).where(
        BuildResult.build_id == build_id, BuildResult.fingerprint.in_(fingerprints)
    )
    return set(session.execute(stmt).scalars())


def add_event(session: Session, event: BuildEvent) -> None:
    session.add(event)


def update_build(session: Session, build_id: int, **values: Any) -> None:
    session.execute(update(Build).where(Build.id == build_id).values(**values))


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
        stmt = stmt.where(Build.branch == filters.branch)
    if filters.version:
        stmt = stmt.where(Build.build_version == filters.version)
    return newest_first(session, stmt, Build.id, after_id=after_id, limit=limit)


def latest(session: Session, component_ids: Sequence[str]) -> dict[str, Build]:
    """The newest build of each given component, in one query."""
    if not component_ids:
        return {}
    newest = (
        select(func.max(Build.id))
        .where(Build.component_id.in_(component_ids))
        .group_by(Build.component_id)
        .scalar_subquery()
    )
    rows = session.execute(select(Build).where(Build.id.in_(newest))).scalars()
    return {b.component_id: b for b in rows}


def results(session: Session, build_id: int) -> list[BuildResult]:
    stmt = select(BuildResult).where(BuildResult.build_id == build_id).order_by(BuildResult.id)
    return list(session.execute(stmt).scalars())


def events(session: Session, build_id: int) -> list[BuildEvent]:
    stmt = select(BuildEvent).where(BuildEvent.build_id == build_id).order_by(BuildEvent.id)
    return list(session.execute(stmt).scalars())
