"""Rows a component owns and its page lists: its CI keys and its trust policies.

Both have an integer ``id``, a ``component_id`` and a ``last_used_at``; both are read only
through their component (a missing component is a 404 before a missing row), listed newest
first a page at a time, and stamped when a request uses them. The keys and trust domains
keep what differs (how a row is made, what the audit log says of it) in their own modules;
rows are added and deleted through :mod:`extci.components.repository`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy import Connection, FromClause, or_, select, update
from sqlalchemy.orm import Session

from extci.components import service as components
from extci.errors import NotFound
from extci.pagination import Page, decode_id_cursor, encode_cursor, page_of
from extci.queries import newest_first
from extci.validation import storable_id


class Owned(Protocol):
    """CIKey or TrustPolicy: a mapped row with an id; the queries name its columns through
    its table (``model.__table__.c``)."""

    __table__: ClassVar[FromClause]
    id: int


R = TypeVar("R", bound=Owned)


def page(
    session: Session, model: type[R], component_id: str, *, cursor: str | None, limit: int
) -> Page[R]:
    """A page of the component's rows, newest first (a 404 when the component is missing)."""
    components.get(session, component_id)
    column = model.__table__.c
    stmt = select(model).where(column.component_id == component_id)
    after_id = decode_id_cursor(cursor)
    rows = newest_first(session, stmt, column.id, after_id=after_id, limit=limit + 1)
    return page_of(rows, limit, lambda row: encode_cursor(row.id))


def get(session: Session, model: type[R], component_id: str, row_id: int, what: str) -> R:
    """One row of the component; NotFound names ``what`` it is ("CI key")."""
    components.get(session, component_id)
    row = None
    if storable_id(row_id):
        column = model.__table__.c
        stmt = select(model).where(column.id == row_id, column.component_id == component_id)
        row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{what} {row_id} of component {component_id!r} does not exist.")
    return row


def stamp_last_used(
    conn: Session | Connection,
    model: type[Owned],
    row_id: int,
    now: datetime,
    stale_before: datetime,
) -> None:
    """Write last-used only when the stored stamp is older than ``stale_before``: at most one
    write per row per interval, whichever process serves the request."""
    column = model.__table__.c
    conn.execute(
        update(model)
        .where(
            column.id == row_id,
            or_(column.last_used_at.is_(None), column.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
