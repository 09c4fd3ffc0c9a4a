"""A cheap fingerprint of everything stored: per table, the row count and a digest of the
rows, so "a refused request changed nothing" is one comparison.

Two things change on purpose when a request is refused, and are left out:
- ``rate_windows``: the webhook counts requests of a valid key, refused ones included
  (docs/decisions.md, "Rate limit");
- ``tokens.last_used_at`` and ``ci_keys.last_used_at``: the use of a valid token or key is
  recorded whatever the route answers (a refused event still shows the key is in use).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, TableClause, column, inspect, select, table

IGNORED_TABLES = frozenset({"rate_windows", "alembic_version"})
IGNORED_COLUMNS = {"tokens": frozenset({"last_used_at"}), "ci_keys": frozenset({"last_used_at"})}


@dataclass(frozen=True)
class TableState:
    rows: int
    digest: str


class Snapshots:
    """Reads the table and column names once (every table, including ones this test suite
    does not know about, such as an audit log), then fingerprints them on demand."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        inspector = inspect(engine)
        self.tables: list[TableClause] = [
            table(name, *(column(c["name"]) for c in inspector.get_columns(name)))
            for name in sorted(inspector.get_table_names())
            if name not in IGNORED_TABLES
        ]

    def take(self) -> dict[str, TableState]:
        state: dict[str, TableState] = {}
        with self.engine.connect() as conn:
            for table in self.tables:
                skip = IGNORED_COLUMNS.get(table.name, frozenset())
                columns = [c for c in table.columns if c.name not in skip]
                rows = sorted(repr(tuple(row)) for row in conn.execute(select(*columns)))
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                state[table.name] = TableState(len(rows), digest)
        return state


def changed_tables(before: dict[str, TableState], after: dict[str, TableState]) -> list[str]:
    """Which tables differ, with their row counts, for a readable assertion message."""
    return [
        f"{name} ({before[name].rows} -> {after[name].rows} rows)"
        for name in before
        if before[name] != after[name]
    ]
