"""Engine, sessions and the declarative base shared by every domain's models.

What a database error means to a client is :mod:`extci.problems`'; the helpers that build
queries are :mod:`extci.queries`; the readiness probe is :mod:`extci.health`'s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from extci.datadir import prepare_sqlite_file

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option asking SQLite for BEGIN IMMEDIATE: a write transaction takes the write
# lock up front, so concurrent writers queue on the busy timeout instead of failing with
# SQLITE_BUSY_SNAPSHOT halfway through.
WRITE = {"extci_write": True}

# How long a SQLite writer queues for the write lock before the request becomes a 503.
SQLITE_BUSY_TIMEOUT_MS = 15000


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so "begin" below decides.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("extci_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            prepare_sqlite_file(path)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout_ms / 1000},
            poolclass=NullPool if path is None else None,
        )
        _sqlite_setup(engine, sqlite_busy_timeout_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


class Link:
    """A worker thread's own connection: opened when needed, thrown away after trouble,
    and given back to the pool when the worker is idle."""

    def __init__(
        self, engine: Engine, *, clean: tuple[type[BaseException], ...] = (), **options: Any
    ) -> None:
        self.engine = engine
        self.clean = clean  # exceptions after which the rolled-back connection is fine
        self.options = options
        self.conn: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block succeeds, else rolled back."""
        if self.conn is None:
            self.conn = self.engine.connect().execution_options(**self.options)
        try:
            with self.conn.begin():
                yield self.conn
        except BaseException as exc:
            if not isinstance(exc, self.clean):
                self.drop()  # the connection may be broken; take a fresh one next time
            raise

    def drop(self) -> None:
        if self.conn is not None:
            with suppress(Exception):  # it is being thrown away
                self.conn.close()
            self.conn = None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises.

    Services flush and never commit; whoever opens the unit of work decides.
    """
    with factory() as session:
        if write:
            session.connection(execution_options=WRITE)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
