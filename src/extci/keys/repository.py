"""All SQL about CI keys."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from extci.keys.models import CIKey
from extci.queries import newest_first


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


def get(session: Session, component_id: str, key_id: int) -> CIKey | None:
    stmt = select(CIKey).where(CIKey.id == key_id, CIKey.component_id == component_id)
    return session.execute(stmt).scalar_one_or_none()


def for_component(
    session: Session, component_id: str, *, after_id: int | None, limit: int
) -> list[CIKey]:
    """Newest first; ``after_id`` is the keyset cursor."""
    stmt = select(CIKey).where(CIKey.component_id == component_id)
    return newest_first(session, stmt, CIKey.id, after_id=after_id, limit=limit)


def add(session: Session, key: CIKey) -> None:
    session.add(key)
    session.flush()


def delete(session: Session, key: CIKey) -> None:
    session.delete(key)
    session.flush()


def stamp_last_used(
    session: Session | Connection, key_id: int, now: datetime, stale_before: datetime
) -> None:
    """Write last-used only when the stored stamp is older than ``stale_before``: at most one
    write per key per interval, whichever process serves the request."""
    session.execute(
        update(CIKey)
        .where(
            CIKey.id == key_id,
            or_(CIKey.last_used_at.is_(None), CIKey.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
