"""Query helpers shared by every domain's repository: the Core tables of mapped classes, an
upsert both dialects understand, and one keyset page of a query, newest first."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from extci.db import Base

T = TypeVar("T")


def tables(*models: type[Base]) -> tuple[Table, ...]:
    """The Core tables of mapped classes, for the statements a repository builds once, at
    import, and runs on a Connection."""
    return tuple(cast(Table, model.__table__) for model in models)


def dialect_insert(dialect: str, table: Any) -> Any:
    """An INSERT that understands ON CONFLICT on both supported dialects."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def newest_first(
    session: Session, stmt: Select[T], id_column: Any, *, after_id: int | None, limit: int
) -> list[T]:
    """One keyset page of ``stmt``, by descending id: rows after the cursor's id."""
    if after_id is not None:
        stmt = stmt.where(id_column < after_id)
    return list(session.execute(stmt.order_by(id_column.desc()).limit(limit)).scalars())
