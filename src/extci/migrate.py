"""Apply Alembic migrations programmatically (``extci db upgrade``, ``extci serve``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

from extci.errors import ServiceUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x65787463_69520002  # an arbitrary bigint key for pg_advisory_xact_lock


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table by copying it and dropping the original;
            # with foreign keys on, that DROP would cascade to its children (every build's
            # results and timeline). SQLite's own recipe: keys off, migrate, check, keys on.
            _pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                if not sqlite:
                    # Servers starting together (workers, pods of a rolling update)
                    # migrate one at a time; the next finds the schema current.
                    connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"migration left a dangling foreign key: {broken}")
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, pragma: str) -> None:
    """A PRAGMA outside any transaction (inside one, foreign_keys is silently ignored)."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA {pragma}")


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not this version's: admin commands
    never migrate behind an operator's back (``extci db upgrade`` and ``serve`` do)."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        state = "has no extci schema yet" if current is None else f"is at revision {current}"
        raise ServiceUnavailable(
            f"The database {state}; this extci expects {head}. "
            "Run 'extci db upgrade' (or start 'extci serve', which upgrades it)."
        )
