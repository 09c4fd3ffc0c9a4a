"""All SQL about builds, their results and their timeline."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from extci.builds.models import DEPLOYABLE_CONDITION, Build, BuildEvent, BuildResult, branch_key
from extci.builds.state import BuildStatus
from extci.components.models import Component
from extci.queries import dialect_insert, newest_first, tables

if TYPE_CHECKING:  # deployable builds on this module; its Query is only named here
    from extci.builds.deployable import Query

# ---- the ingest path's writes: Core statements on the writer's connection ------------
# The group-commit writer (extci.ingest.writer) runs these on one Connection, many events
# per transaction. Each statement is built once and executed with parameters: building a
# statement per call (and the ORM's unit of work) cost more than the database's own work.

_BUILD, _RESULT, _EVENT = tables(Build, BuildResult, BuildEvent)

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


# What a start event writes (the service passes exactly these).
START_COLUMNS = (
    "pipeline_id",
    "component_id",
    "build_version",
    "pipeline_name",
    "dashboard_url",
    "actor_username",
    "actor_fullname",
    "start_fingerprint",
    "status",
    "result_types",
    "result_count",
    "started_at",
    "last_event_at",
)


@functools.cache
def _insert_start(dialect: str) -> Any:
    values = {name: bindparam(name, type_=_BUILD.c[name].type) for name in START_COLUMNS}
    return (
        dialect_insert(dialect, _BUILD)
        .values(values)
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


@functools.cache
def _insert_start_with_event(dialect: str) -> Any:
    """PostgreSQL: the build and its first timeline entry in one statement (one network
    round trip), through a data-modifying CTE; SQLite has none, and needs no round trip."""
    build = _insert_start(dialect).cte("new_build")
    event_columns = ["build_id", "type", "created_at", "received_at", "summary"]
    values = select(
        build.c.id,
        bindparam("e_type"),
        bindparam("e_created_at", type_=_EVENT.c.created_at.type),
        bindparam("e_received_at", type_=_EVENT.c.received_at.type),
        bindparam("e_summary", type_=_EVENT.c.summary.type),
    )
    return insert(_EVENT).from_select(event_columns, values).returning(_EVENT.c.build_id)


def insert_start(
    conn: Connection, *, build: dict[str, Any], first_event: dict[str, Any]
) -> int | None:
    """Create the build and its first timeline entry unless its component already has the
    pipelineId; the unique constraint decides races. Returns the new build's id, or None
    when another request (in any process) got there first (and then writes nothing)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        params = {**build, **{f"e_{k}": v for k, v in first_event.items() if k != "build_id"}}
        return conn.execute(_insert_start_with_event(dialect), params).scalar_one_or_none()
    build_id = conn.execute(_insert_start(dialect), build).scalar_one_or_none()
    if build_id is not None:
        add_event(conn, {**first_event, "build_id": build_id})
    return build_id


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


# ---- the webhooks' reads (extci.webhooks.outbox and .worker), on their own connection ---

_RESULTS_OF_TYPES = (
    select(_RESULT.c.id, _RESULT.c.type)
    .where(
        _RESULT.c.build_id == bindparam("build_id"),
        _RESULT.c.type.in_(bindparam("types", expanding=True)),
    )
    .order_by(_RESULT.c.id)
)
_BUILD_BY_ID = select(_BUILD).where(_BUILD.c.id == bindparam("build_id"))
_RESULTS_OF = (
    select(_RESULT.c.id, _RESULT.c.type, _RESULT.c.fields)
    .where(_RESULT.c.build_id == bindparam("build_id"))
    .order_by(_RESULT.c.id)
)


def result_ids_of_types(conn: Connection, build_id: int, types: Sequence[str]) -> list[Any]:
    """The (id, type) of a build's results of the given types, in the order they arrived."""
    params = {"build_id": build_id, "types": list(types)}
    return list(conn.execute(_RESULTS_OF_TYPES, params).all())


def build_with_results(conn: Connection, build_id: int) -> tuple[Any, list[Any]]:
    """The build's row (None once it is gone) and its results' id, type and fields."""
    build = conn.execute(_BUILD_BY_ID, {"build_id": build_id}).one_or_none()
    results = list(conn.execute(_RESULTS_OF, {"build_id": build_id}).all())
    return build, results


@dataclass(frozen=True)
class HistoryFilter:
    status: str | None = None
    branch: str | None = None
    version: str | None = None


def _status_clause(status: str, lost_before: datetime) -> Any:
    if status == BuildStatus.LOST:
        return and_(Build.status == BuildStatus.BUILDING, Build.last_event_at < lost_before)
    if status == BuildStatus.BUILDING:
        return and_(Build.status == BuildStatus.BUILDING, Build.last_event_at >= lost_before)
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


def results(
    session: Session,
    build_id: int,
    *,
    after_id: int | None = None,
    limit: int | None = None,
    kind: str | None = None,
) -> list[BuildResult]:
    """A build's results in the order they arrived; keyset-paged by id (oldest first)."""
    stmt = select(BuildResult).where(BuildResult.build_id == build_id)
    if after_id is not None:
        stmt = stmt.where(BuildResult.id > after_id)
    if kind is not None:
        stmt = stmt.where(BuildResult.type == kind)
    return list(session.execute(stmt.order_by(BuildResult.id).limit(limit)).scalars())


def events(session: Session, build_id: int) -> list[BuildEvent]:
    stmt = select(BuildEvent).where(BuildEvent.build_id == build_id).order_by(BuildEvent.id)
    return list(session.execute(stmt).scalars())


# ---- retention (extci.builds.retention) ------------------------------------------------


def _kept_ids() -> tuple[Any, Any]:
    """The builds retention never removes: each component's newest build per stored
    status, and its newest SUCCESSFUL (deployable) build per branch (builds without a
    branch count as one branch)."""
    per_status = select(func.max(_BUILD.c.id)).group_by(_BUILD.c.component_id, _BUILD.c.status)
    per_branch = (
        select(func.max(_BUILD.c.id))
        .where(_BUILD.c.status == BuildStatus.SUCCESSFUL)
        .group_by(_BUILD.c.component_id, _BUILD.c.branch_key)
    )
    return per_status, per_branch


def _prunable(cutoff: datetime) -> Any:
    per_status, per_branch = _kept_ids()
    return and_(
        _BUILD.c.last_event_at < cutoff,
        _BUILD.c.id.not_in(per_status),
        _BUILD.c.id.not_in(per_branch),
    )


def prune_batch(conn: Connection, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` prunable builds, oldest first (their results and timeline
    go with them: ON DELETE CASCADE); how many went."""
    ids = select(_BUILD.c.id).where(_prunable(cutoff)).order_by(_BUILD.c.id).limit(limit)
    # The age is checked again on the row itself: an event that arrived meanwhile keeps it.
    stmt = _BUILD.delete().where(_BUILD.c.id.in_(ids), _BUILD.c.last_event_at < cutoff)
    return int(conn.execute(stmt).rowcount)


def prunable_per_component(conn: Connection, cutoff: datetime) -> list[tuple[str, int, datetime]]:
    """(component, builds that would go, the newest last event among them)."""
    stmt = (
        select(_BUILD.c.component_id, func.count(), func.max(_BUILD.c.last_event_at))
        .where(_prunable(cutoff))
        .group_by(_BUILD.c.component_id)
        .order_by(_BUILD.c.component_id)
    )
    return [(c, int(n), newest) for c, n, newest in conn.execute(stmt)]


def retention_lock(conn: Connection) -> bool:
    """PostgreSQL: one process prunes at a time (a transaction-level advisory lock; the
    others skip their turn). SQLite has one process."""
    if conn.dialect.name != "postgresql":
        return True
    got = conn.execute(select(func.pg_try_advisory_xact_lock(RETENTION_LOCK))).scalar_one()
    return bool(got)


RETENTION_LOCK = 0x65787463_69520001  # "extci" + retention: an arbitrary bigint key
# ``status = 'SUCCESSFUL'`` as a literal, exactly the condition of the partial index
# ix_builds_deployable: with a bound parameter neither SQLite's planner nor a generic
# PostgreSQL plan can prove that the index applies.
_SUCCESSFUL = Build.status == literal_column(f"'{BuildStatus.SUCCESSFUL}'")
assert f"status = '{BuildStatus.SUCCESSFUL}'" == DEPLOYABLE_CONDITION


def deployable_query(component_id: str, query: Query) -> Select[Build]:
    """The newest SUCCESSFUL build ``query`` asks for: on its branch (any when None), with
    its version (exact, or as a prefix). With a branch: one probe of the partial index
    ix_builds_deployable; without: ix_builds_component_id_status_id; newest first either
    way, so the cost does not grow with the history. A version filter is checked on the
    rows that walk meets: it costs as many rows as there are newer SUCCESSFUL builds that do
    not match (none, when the newest matches)."""
    branch, version = query.branch, query.version
    stmt = select(Build).where(Build.component_id == component_id, _SUCCESSFUL)
    if branch is not None:
        stmt = stmt.where(Build.branch_key == branch_key(branch), Build.branch == branch)
    if version is not None and query.version_prefix:
        # substr, not LIKE: SQLite's LIKE ignores case and both treat % and _ specially.
        stmt = stmt.where(func.substr(Build.build_version, 1, len(version)) == version)
    elif version is not None:
        stmt = stmt.where(Build.build_version == version)
    return stmt.order_by(Build.id.desc()).limit(1)


def newest_deployable(session: Session, component_id: str, query: Query) -> Build | None:
    """See :func:`deployable_query`."""
    return session.execute(deployable_query(component_id, query)).scalar_one_or_none()


def results_of_types(
    session: Session, build_id: int, types: Sequence[str], *, limit: int
) -> list[BuildResult]:
    """A build's results of the given types, in the order they arrived (at most ``limit``)."""
    stmt = (
        select(BuildResult)
        .where(BuildResult.build_id == build_id, BuildResult.type.in_(types))
        .order_by(BuildResult.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


# What the health figures need of a build, and no more (a few thousand rows at most).
_HEALTH_COLUMNS = (
    _BUILD.c.pipeline_id,
    _BUILD.c.build_version,
    _BUILD.c.status,
    _BUILD.c.started_at,
    _BUILD.c.ended_at,
    _BUILD.c.last_event_at,
)


def newest_for_health(session: Session, component_id: str, *, limit: int) -> list[Any]:
    """The newest ``limit`` builds (rows of _HEALTH_COLUMNS), newest first: a walk down
    ix_builds_component_id_id that stops after ``limit`` rows, however long the history."""
    stmt = (
        select(*_HEALTH_COLUMNS)
        .where(_BUILD.c.component_id == component_id)
        .order_by(_BUILD.c.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).all())
