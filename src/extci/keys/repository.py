"""All SQL about CI keys."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from extci.components import owned
from extci.keys.models import CIKey


def by_hash(session: Session, key_hash: str) -> CIKey | None:
    return session.execute(select(CIKey).where(CIKey.key_hash == key_hash)).scalar_one_or_none()


def states(conn: Connection, key_ids: Collection[int]) -> dict[int, Any]:
    """Status, expiry and last use of the given keys: the writer's once-per-batch check."""
    stmt = select(
        CIKey.id, CIKey.component_id, CIKey.status, CIKey.expires_at, CIKey.last_used_at
    ).where(CIKey.id.in_(key_ids))
    return {row.id: row for row in conn.execute(stmt)}


def by_id(session: Session, key_id: int) -> CIKey | None:
    return session.get(CIKey, key_id)


def stamp_last_used(
    conn: Session | Connection, key_id: int, now: datetime, stale_before: datetime
) -> None:
    owned.stamp_last_used(conn, CIKey, key_id, now, stale_before)
