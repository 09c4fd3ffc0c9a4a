"""All SQL about components."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select
from sqlalchemy.orm import Session

from extci.components.models import Component


def get(session: Session, component_id: str) -> Component | None:
    return session.get(Component, component_id)


def kinds_and_modes(conn: Connection, component_ids: Collection[str]) -> dict[str, Any]:
    """Kind and CI mode of the given components: the writer's once-per-batch read."""
    stmt = select(Component.id, Component.kind, Component.ci_mode).where(
        Component.id.in_(component_ids)
    )
    return {row.id: row for row in conn.execute(stmt)}


def add(session: Session, row: object) -> None:
    """Add a component, or a row it owns (a CI key, a trust policy)."""
    session.add(row)
    session.flush()


def delete(session: Session, row: object) -> None:
    """Delete a component (its keys, builds, results and events go with it through ON DELETE
    CASCADE), or a row it owns."""
    session.delete(row)
    session.flush()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ComponentFilter:
    """Which components a list shows (None: any)."""

    kind: str | None = None
    ci_mode: str | None = None
    query: str | None = None  # part of the id or the name


def components(
    session: Session, filters: ComponentFilter, *, after: tuple[datetime, str] | None, limit: int
) -> list[Component]:
    """Newest first, keyset on (created_at, id)."""
    stmt: Select[Component] = select(Component)
    if filters.kind:
        stmt = stmt.where(Component.kind == filters.kind)
    if filters.ci_mode:
        stmt = stmt.where(Component.ci_mode == filters.ci_mode)
    if filters.query:
        pattern = f"%{_escape_like(filters.query.lower())}%"
        stmt = stmt.where(
            or_(
                Component.id.like(pattern, escape="\\"),
                Component.name.ilike(pattern, escape="\\"),
            )
        )
    if after is not None:
        created_at, component_id = after
        stmt = stmt.where(
            or_(
                Component.created_at < created_at,
                and_(Component.created_at == created_at, Component.id < component_id),
            )
        )
    stmt = stmt.order_by(Component.created_at.desc(), Component.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())
