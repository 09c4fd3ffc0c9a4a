"""``extci db copy --to postgresql://…``: move a whole installation to PostgreSQL.

Every table of the schema is copied row for row (ids included) in one transaction on the
target, so a failure leaves the target as empty as it was. The target must be empty; it is
migrated to this version's schema first if it has none. Afterwards each table's row count
and checksum are read back from the target and compared with the source. CI keys, tokens
and sessions are stored as keyed hashes: they keep working when the servers on the new
database use the same secret key (EXTCI_SECRET_KEY, or the data directory's secret_key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from extci import migrate
from extci.errors import Conflict, ValidationFailed
from extci.maintenance import repository


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str
    verified: bool


def copy_installation(
    source: Engine, target: Engine, *, progress: Callable[[str], None] = lambda _: None
) -> list[TableCopy]:
    if target.dialect.name != "postgresql":
        raise ValidationFailed("The target must be a PostgreSQL database (postgresql://...).")
    migrate.ensure_current(source)
    _refuse_non_empty(target)  # before migrating it: someone else's database is left alone
    migrate.upgrade(target)
    copied: dict[str, tuple[int, str]] = {}
    # One read transaction on the source (a consistent snapshot), one write transaction on
    # the target.
    with source.connect() as src, target.begin() as dst:
        _refuse_non_empty(dst)  # and again inside the transaction that copies
        for table in repository.tables():
            rows, checksum = 0, repository.Checksum()
            for batch in repository.rows(src, table):
                repository.insert(dst, table, batch)
                checksum.add(batch)
                rows += len(batch)
            copied[table.name] = (rows, checksum.hexdigest())
            progress(f"{table.name}: {rows} rows")
        repository.reset_sequences(dst)
    with target.connect() as check:
        return [
            TableCopy(name, rows, digest, (rows, digest) == _read_back(check, name))
            for name, (rows, digest) in copied.items()
        ]


def _refuse_non_empty(target: Engine | Connection) -> None:
    if isinstance(target, Engine):
        with target.connect() as conn:
            occupied = repository.non_empty(conn)
    else:
        occupied = repository.non_empty(target)
    if occupied:
        raise Conflict(
            f"The target database is not empty (rows in {', '.join(occupied)}); "
            "copy into a new, empty database."
        )


def _read_back(conn: Connection, name: str) -> tuple[int, str]:
    table = next(t for t in repository.tables() if t.name == name)
    checksum = repository.Checksum()
    for batch in repository.rows(conn, table):
        checksum.add(batch)
    return repository.count(conn, table), checksum.hexdigest()
