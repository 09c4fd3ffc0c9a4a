"""All SQL about audit entries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from extci.audit.models import AuditEntry
from extci.queries import newest_first


def add(session: Session, entry: AuditEntry) -> None:
    session.add(entry)
    session.flush()


@dataclass(frozen=True)
class AuditFilter:
    """Which entries the audit log shows (None: any)."""

    component_id: str | None = None
    actor: str | None = None  # the username
    action: str | None = None


def entries(
    session: Session, filters: AuditFilter, *, after_id: int | None, limit: int
) -> list[AuditEntry]:
    """Newest first; each filter narrows by equality (each has an index led by it)."""
    stmt = select(AuditEntry)
    if filters.component_id is not None:
        stmt = stmt.where(AuditEntry.component_id == filters.component_id)
    if filters.actor is not None:
        stmt = stmt.where(AuditEntry.actor == filters.actor)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    return newest_first(session, stmt, AuditEntry.id, after_id=after_id, limit=limit)
