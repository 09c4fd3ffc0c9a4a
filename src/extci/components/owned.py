"""Rows a component owns and its page lists: its CI keys and its trust policies.

Both have the columns of :class:`~extci.components.models.ComponentOwned`; both are read only
through their component (a missing component is a 404 before a missing row), listed newest
first a page at a time, and stamped when a request uses them. The keys and trust domains
keep what differs (how a row is made, what the audit log says of it) in their own modules;
rows are added and deleted through :mod:`extci.components.repository`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from extci.components import service as components
from extci.components.kinds import CiMode
from extci.components.models import Component, ComponentOwned
from extci.errors import Conflict, NotFound
from extci.pagination import DEFAULT_LIMIT, Page, decode_id_cursor, encode_cursor, page_of
from extci.queries import newest_first
from extci.validation import storable_id

R = TypeVar("R", bound=ComponentOwned)


@dataclass(frozen=True)
class Rows(Generic[R]):
    """One kind of owned row (``model``), named ``what`` ("CI key") where one is missing."""

    model: type[R]
    what: str

    def page(
        self,
        session: Session,
        component_id: str,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[R]:
        """A page of the component's rows, newest first (a 404 when the component is
        missing)."""
        components.get(session, component_id)
        stmt = select(self.model).where(self.model.component_id == component_id)
        after_id = decode_id_cursor(cursor)
        rows = newest_first(session, stmt, self.model.id, after_id=after_id, limit=limit + 1)
        return page_of(rows, limit, lambda row: encode_cursor(row.id))

    def get(self, session: Session, component_id: str, row_id: int) -> R:
        """One row of the component."""
        components.get(session, component_id)
        row = None
        if storable_id(row_id):
            stmt = select(self.model).where(
                self.model.id == row_id, self.model.component_id == component_id
            )
            row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{self.what} {row_id} of component {component_id!r} does not exist.")
        return row


def external_component(session: Session, component_id: str, *, before: str) -> Component:
    """The component, which must report its own builds (External CI) before a row that
    lets a CI do so is made (``before``: "generating a CI key")."""
    component = components.get(session, component_id)
    if component.ci_mode != CiMode.EXTERNAL:
        raise Conflict(
            f"Component {component_id!r} is built by the platform; switch it to External CI "
            f"before {before}."
        )
    return component


def stamp_last_used(
    conn: Session | Connection,
    model: type[ComponentOwned],
    row_id: int,
    now: datetime,
    stale_before: datetime,
) -> None:
    """Write last-used only when the stored stamp is older than ``stale_before``: at most one
    write per row per interval, whichever process serves the request."""
    conn.execute(
        update(model)
        .where(
            model.id == row_id,
            or_(model.last_used_at.is_(None), model.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
