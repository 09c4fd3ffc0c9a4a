"""The database behind one benchmarked deployment: a SQLite file in a temp dir, or a fresh
PostgreSQL database created and dropped by the benchmark. The harness counts stored builds
itself, with plain SQL, so it never trusts the server's own answer about what it stored."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import psycopg

PG_ADMIN = os.environ.get("EXTCI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class Database:
    kind: str
    url: str

    def count_builds(self, component: str) -> int:
        raise NotImplementedError

    def count_ended(self, component: str) -> int:
        raise NotImplementedError

    def drop(self) -> None:
        pass


class SQLiteDatabase(Database):
    kind = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "extci.db"
        self.url = f"sqlite:///{self.path}"

    def _scalar(self, sql: str, *params: object) -> int:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        try:
            (value,) = conn.execute(sql, params).fetchone()
        finally:
            conn.close()
        return int(value)

    def count_builds(self, component: str) -> int:
        return self._scalar("SELECT count(*) FROM builds WHERE component_id = ?", component)

    def count_ended(self, component: str) -> int:
        return self._scalar(
            "SELECT count(*) FROM builds WHERE component_id = ? AND end_result IS NOT NULL",
            component,
        )


class PostgresDatabase(Database):
    kind = "postgresql"

    def __init__(self) -> None:
        self.name = f"extci_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        self.url = self.dsn

    def _scalar(self, sql: str, *params: object) -> int:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(sql, params).fetchone()
        assert row is not None
        return int(row[0])

    def count_builds(self, component: str) -> int:
        return self._scalar("SELECT count(*) FROM builds WHERE component_id = %s", component)

    def count_ended(self, component: str) -> int:
        return self._scalar(
            "SELECT count(*) FROM builds WHERE component_id = %s AND end_result IS NOT NULL",
            component,
        )

    def drop(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{PG_ADMIN}: {type(exc).__name__}"
    return None
