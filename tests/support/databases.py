"""Real databases for tests: a migrated SQLite file per test, and one migrated PostgreSQL
database per test session, emptied between tests."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from extci import migrate
from extci.db import make_engine
from extci.models import Base

PG_ADMIN_URL = os.environ.get(
    "EXTCI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_unavailable_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {type(exc).__name__}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL half must run)")
    pytest.skip(reason)


class SQLiteTemplate:
    """Migrate once, copy the file for each test: fast and fully isolated."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        engine = make_engine(f"sqlite:///{self.path}")
        migrate.upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()

    def fresh(self, directory: Path) -> str:
        target = directory / "extci.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


class PostgresDatabase:
    """A database of its own for this test session (each xdist worker has its own session,
    so its own database), dropped at the end."""

    def __init__(self) -> None:
        self.name = f"extci_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        engine = make_engine(self.url)
        migrate.upgrade(engine)
        engine.dispose()
        # One connection kept for the resets, and the reset as one batch of statements;
        # pinged before each reset, since a test may end every connection to its database
        # (tests/ops/test_readyz.py).
        self._engine = create_engine(self.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        self._reset = self._reset_script()

    def _reset_script(self) -> str:
        """Every table emptied (children first) and every sequence back at its start, as a
        fresh migration leaves them: ``TRUNCATE … RESTART IDENTITY`` costs ~0.25 s (it makes
        new files for every table), these ``DELETE``s and ``setval``s a few milliseconds."""
        with self._engine.connect() as conn:
            sequences = conn.execute(
                text(
                    "SELECT schemaname, sequencename, start_value FROM pg_sequences"
                    " WHERE schemaname = current_schema() ORDER BY sequencename"
                )
            ).all()
        tables = reversed(Base.metadata.sorted_tables)
        statements = [f'DELETE FROM "{t.name}"' for t in tables]  # noqa: S608 - our names
        statements += [
            f'SELECT setval(\'"{schema}"."{name}"\', {start}, false)'
            for schema, name, start in sequences
        ]
        return "; ".join(statements)

    def empty(self) -> str:
        with self._engine.begin() as conn:
            conn.exec_driver_sql(self._reset)
        return self.url

    def drop(self) -> None:
        self._engine.dispose()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def engine_at_revision(kind: str, revision: str, directory: Path) -> Iterator[Engine]:
    """A database of its own, migrated only as far as ``revision`` (migration tests)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{directory / 'old.db'}")
        try:
            migrate.upgrade(engine, revision)
            yield engine
        finally:
            engine.dispose()
        return
    require_postgres()
    name = f"extci_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        migrate.upgrade(engine, revision)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
