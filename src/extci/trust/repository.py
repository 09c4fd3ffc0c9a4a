"""All SQL about trust policies."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from extci.components import owned
from extci.trust.models import TrustPolicy


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


def stamp_last_used(
    conn: Session | Connection, policy_id: int, now: datetime, stale_before: datetime
) -> None:
    owned.stamp_last_used(conn, TrustPolicy, policy_id, now, stale_before)
