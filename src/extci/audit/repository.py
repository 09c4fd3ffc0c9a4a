"""All SQL about audit entries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from extci.audit.models import AuditEntry
from extci.queries import newest_first


def add(session: Session, entry: AuditEntry) -> None:
    session.add(entry)
    session.flush()


def entries(
    session: Session,
    *,
    component_id: str | None,
    actor: str | None,
    action: str | None,
    after_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    """Newest first; each filter narrows by equality (each has an index led by it)."""
    stmt = select(AuditEntry)
    if component_id is not None:
        stmt = stmt.where(AuditEntry.component_id == component_id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return newest_first(session, stmt, AuditEntry.id, after_id=after_id, limit=limit)
