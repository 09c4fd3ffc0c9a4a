"""All SQL about trust policies."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from extci.queries import newest_first
from extci.trust.models import TrustPolicy


def get(session: Session, component_id: str, policy_id: int) -> TrustPolicy | None:
    stmt = select(TrustPolicy).where(
        TrustPolicy.id == policy_id, TrustPolicy.component_id == component_id
    )
    return session.execute(stmt).scalar_one_or_none()


def for_component(
    session: Session, component_id: str, *, after_id: int | None, limit: int
) -> list[TrustPolicy]:
    """Newest first; ``after_id`` is the keyset cursor."""
    stmt = select(TrustPolicy).where(TrustPolicy.component_id == component_id)
    return newest_first(session, stmt, TrustPolicy.id, after_id=after_id, limit=limit)


def for_issuer(session: Session, issuer: str) -> list[Any]:
    """Every policy naming ``issuer``: what a presented token is checked against."""
    stmt = select(
        TrustPolicy.id,
        TrustPolicy.component_id,
        TrustPolicy.audience,
        TrustPolicy.claims,
    ).where(TrustPolicy.issuer == issuer)
    return list(session.execute(stmt))


def issuers(session: Session) -> set[str]:
    return set(session.execute(select(TrustPolicy.issuer).distinct()).scalars())


def states(conn: Connection, policy_ids: Collection[int]) -> dict[int, Any]:
    """The policies that still exist, with their last use: the writer's once-per-batch
    check, as :func:`extci.keys.repository.states` for keys."""
    stmt = select(TrustPolicy.id, TrustPolicy.component_id, TrustPolicy.last_used_at).where(
        TrustPolicy.id.in_(policy_ids)
    )
    return {row.id: row for row in conn.execute(stmt)}


def add(session: Session, policy: TrustPolicy) -> None:
    session.add(policy)
    session.flush()


def delete(session: Session, policy: TrustPolicy) -> None:
    session.delete(policy)
    session.flush()


def stamp_last_used(
    conn: Session | Connection, policy_id: int, now: datetime, stale_before: datetime
) -> None:
    conn.execute(
        update(TrustPolicy)
        .where(
            TrustPolicy.id == policy_id,
            or_(TrustPolicy.last_used_at.is_(None), TrustPolicy.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
