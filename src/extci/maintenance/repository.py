"""Table-level SQL for whole-installation operations. The tables are whatever
``Base.metadata`` holds (in dependency order), so a table added later is copied, counted
and checked without a change here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, inspect, select

from extci.models import Base

BATCH = 2000


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def non_empty(conn: Connection) -> list[str]:
    """The tables of the schema that exist and hold at least one row."""
    existing = set(inspect(conn).get_table_names())
    return [
        t.name
        for t in tables()
        if t.name in existing and conn.execute(select(1).select_from(t).limit(1)).first()
    ]


def rows(conn: Connection, table: Table) -> Iterator[Sequence[dict[str, Any]]]:
    """All rows of ``table`` in primary-key order, in batches, as the column types read
    them (aware UTC datetimes, parsed JSON, booleans) on either dialect."""
    result = conn.execution_options(yield_per=BATCH).execute(
        select(table).order_by(*table.primary_key.columns)
    )
    for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]


def insert(conn: Connection, table: Table, batch: Sequence[dict[str, Any]]) -> None:
    conn.execute(table.insert(), list(batch))


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: after rows were inserted with their ids, each table's id sequence must
    continue past the largest id, or the next insert collides with a copied row."""
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        conn.execute(select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, False)))


class Checksum:
    """SHA-256 over a table's rows in primary-key order, each value in a canonical form
    that does not depend on the dialect that stored it."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, batch: Sequence[dict[str, Any]]) -> None:
        for row in batch:
            line = json.dumps(
                [_canonical(row[k]) for k in sorted(row)], sort_keys=True, ensure_ascii=True
            )
            self._hash.update(line.encode())
            self._hash.update(b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json.dumps(value, sort_keys=True)  # JSON columns: dicts and lists
