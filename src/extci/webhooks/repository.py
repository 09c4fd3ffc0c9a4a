"""All SQL about webhook subscriptions, the delivery outbox and its attempts.

The ingest path and the delivery worker run Core statements on their own connections
(built once, executed with parameters); the API and the UI use the ORM in a Session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from extci.builds.models import Build
from extci.queries import newest_first, tables
from extci.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

_SUB, _DELIVERY, _ATTEMPT = tables(WebhookSubscription, WebhookDelivery, WebhookAttempt)

# ---- the ingest path ---------------------------------------------------------------

_SUBSCRIPTIONS = select(_SUB.c.id, _SUB.c.component_id, _SUB.c.events, _SUB.c.format)
_ENQUEUE = insert(_DELIVERY)


def subscriptions(conn: Connection) -> list[Any]:
    """Every subscription (id, component_id, events, format): the ingest path's cache."""
    return list(conn.execute(_SUBSCRIPTIONS).all())


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_ENQUEUE, list(rows))


# ---- the delivery worker -------------------------------------------------------------

_earlier = _DELIVERY.alias("earlier")
# Due rows whose lease (if any) has run out, and that no older pending row of the same
# subscription and build precedes: one row per build at a time, so each build's messages
# arrive in order.
_DUE = (
    select(_DELIVERY.c.id)
    .where(
        _DELIVERY.c.state == DeliveryState.PENDING,
        _DELIVERY.c.next_attempt_at <= bindparam("now"),
        or_(_DELIVERY.c.lease_until.is_(None), _DELIVERY.c.lease_until < bindparam("now")),
        ~exists().where(
            _earlier.c.subscription_id == _DELIVERY.c.subscription_id,
            _earlier.c.build_id == _DELIVERY.c.build_id,
            _earlier.c.state == DeliveryState.PENDING,
            _earlier.c.id < _DELIVERY.c.id,
        ),
    )
    .order_by(_DELIVERY.c.next_attempt_at, _DELIVERY.c.id)
    .limit(bindparam("limit"))
)
_LEASE = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_until=bindparam("lease_until"))
)
_CLAIMED = select(
    _DELIVERY,
    _SUB.c.url,
    _SUB.c.format,
    _SUB.c.secret_salt,
    _SUB.c.events.label("subscribed_events"),
).select_from(_DELIVERY.outerjoin(_SUB, _SUB.c.id == _DELIVERY.c.subscription_id))
_SETTLE = (
    update(_DELIVERY)
    .where(
        _DELIVERY.c.id == bindparam("delivery_id"), _DELIVERY.c.lease_until == bindparam("lease")
    )
    .values(
        state=bindparam("state"),
        attempts=_DELIVERY.c.attempts + 1,
        next_attempt_at=bindparam("next_attempt_at"),
        lease_until=None,
        last_status=bindparam("last_status"),
        last_error=bindparam("last_error"),
        delivered_at=bindparam("delivered_at"),
    )
)
_ATTEMPT_INSERT = insert(_ATTEMPT)
_DROP = delete(_DELIVERY).where(_DELIVERY.c.id == bindparam("delivery_id"))
_PENDING_COUNT = select(func.count()).where(_DELIVERY.c.state == DeliveryState.PENDING)


def claim_possible(conn: Connection, *, now: datetime) -> bool:
    """Whether any delivery is due (a read, so that an idle worker takes no write lock)."""
    return conn.execute(_DUE, {"now": now, "limit": 1}).first() is not None


def claim(conn: Connection, *, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
    """Take up to ``limit`` due deliveries for this worker until ``lease_until``. On
    PostgreSQL rows another process is claiming are skipped (FOR UPDATE SKIP LOCKED); on
    SQLite the write transaction is the lock. Returns the claimed rows with their
    subscription's url, format and salt (url None: the subscription is gone)."""
    due = _DUE
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=_DELIVERY)
    ids = list(conn.execute(due, {"now": now, "limit": limit}).scalars())
    if not ids:
        return []
    conn.execute(_LEASE, {"ids": ids, "lease_until": lease_until})
    rows = conn.execute(_CLAIMED.where(_DELIVERY.c.id.in_(ids)).order_by(_DELIVERY.c.id))
    return list(rows.all())


def settle(
    conn: Connection,
    delivery_id: int,
    *,
    lease: datetime,
    state: str,
    next_attempt_at: datetime,
    attempt: dict[str, Any],
    delivered_at: datetime | None,
) -> bool:
    """Record an attempt and the delivery's new state, if this worker still holds the
    lease (a redelivery or a deleted subscription meanwhile wins). True when recorded."""
    done = conn.execute(
        _SETTLE,
        {
            "delivery_id": delivery_id,
            "lease": lease,
            "state": state,
            "next_attempt_at": next_attempt_at,
            "last_status": attempt["status_code"],
            "last_error": attempt["error"],
            "delivered_at": delivered_at,
        },
    )
    if done.rowcount != 1:
        return False
    conn.execute(_ATTEMPT_INSERT, {**attempt, "delivery_id": delivery_id})
    return True


def drop(conn: Connection, delivery_id: int) -> None:
    conn.execute(_DROP, {"delivery_id": delivery_id})


def pending_count(conn: Connection) -> int:
    return int(conn.execute(_PENDING_COUNT).scalar_one())


# ---- the API and the UI (a Session) ------------------------------------------------------


def add(session: Session, subscription: WebhookSubscription) -> None:
    session.add(subscription)
    session.flush()


def get(session: Session, subscription_id: int) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, subscription_id)


def for_component(
    session: Session, component_id: str | None, *, after_id: int | None, limit: int
) -> list[WebhookSubscription]:
    """A component's subscriptions, or (None) the installation-wide ones; newest first."""
    column = WebhookSubscription.component_id
    where = column.is_(None) if component_id is None else column == component_id
    stmt = select(WebhookSubscription).where(where)
    return newest_first(session, stmt, WebhookSubscription.id, after_id=after_id, limit=limit)


def remove(session: Session, subscription: WebhookSubscription) -> None:
    session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    )
    session.delete(subscription)
    session.flush()


def failing(session: Session, subscription_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per subscription: (failed deliveries, pending deliveries that have failed before)."""
    if not subscription_ids:
        return {}
    failed = func.count().filter(WebhookDelivery.state == DeliveryState.FAILED)
    retrying = func.count().filter(
        and_(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.attempts > 0)
    )
    stmt = (
        select(WebhookDelivery.subscription_id, failed, retrying)
        .where(WebhookDelivery.subscription_id.in_(subscription_ids))
        .group_by(WebhookDelivery.subscription_id)
    )
    return {s: (int(f or 0), int(r or 0)) for s, f, r in session.execute(stmt).all()}


def deliveries(
    session: Session, subscription_id: int, *, after_id: int | None, limit: int
) -> list[tuple[WebhookDelivery, Build]]:
    """The delivery log of a subscription, newest first, with each delivery's build."""
    stmt = (
        select(WebhookDelivery, Build)
        .join(Build, Build.id == WebhookDelivery.build_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
    )
    if after_id is not None:
        stmt = stmt.where(WebhookDelivery.id < after_id)
    rows = session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [(d, b) for d, b in rows]


def attempts(session: Session, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    """Each delivery's attempts, newest first."""
    if not delivery_ids:
        return {}
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id.desc())
    )
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    for attempt in session.execute(stmt).scalars():
        found[attempt.delivery_id].append(attempt)
    return found


def delivery(session: Session, subscription_id: int, delivery_id: int) -> WebhookDelivery | None:
    found = session.get(WebhookDelivery, delivery_id)
    return found if found is not None and found.subscription_id == subscription_id else None
