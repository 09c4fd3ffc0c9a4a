"""Bulk-insert a component's build history with plain SQL (not through HTTP): executemany in
chunks on SQLite, COPY on PostgreSQL. The rows fill the columns of the schema the measured
checkout migrated to; a required column this code does not know stops the benchmark."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg

from bench.databases import Database, PostgresDatabase, SQLiteDatabase

CHUNK = 50_000
FILTER_BRANCH = "release"  # every 100th build: the ?branch= read has to skip the others
RESULT_TYPES = json.dumps(["git-revision", "container", "helm"])


def _branch_key(branch: str) -> str:
    # extci.builds.models.branch_key, restated: the seeder fills rows with plain SQL, and
    # without the key a ?branch= read finds nothing at once instead of walking its index.
    return hashlib.sha256(branch.encode()).hexdigest()[:32]


BRANCH_KEYS = {b: _branch_key(b) for b in ("main", "release")}


def _rows(component: str, count: int, sqlite: bool) -> Iterator[dict[str, object]]:
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for n in range(count):
        started = newest - timedelta(seconds=60 * (count - n))
        ended = started + timedelta(seconds=45)

        def stamp(value: datetime) -> object:
            # SQLAlchemy's SQLite DateTime text format; PostgreSQL takes the aware value.
            return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value

        yield {
            "pipeline_id": f"{component}-seed-{n}",
            "component_id": component,
            "build_version": f"1.{n // 1000}.{n % 1000}",
            "pipeline_name": "seed",
            "dashboard_url": f"https://ci.example.org/job/{component}/{n}/",
            "actor_username": "seed",
            "actor_fullname": None,
            "start_fingerprint": f"{n:064x}",
            "status": "SUCCESSFUL",
            "end_result": "SUCCESSFUL",
            "branch": FILTER_BRANCH if n % 100 == 0 else "main",
            "branch_key": BRANCH_KEYS[FILTER_BRANCH if n % 100 == 0 else "main"],
            "commit_sha": f"{n:040x}",
            "result_types": RESULT_TYPES,
            "started_at": stamp(started),
            "ended_at": stamp(ended),
            "last_event_at": stamp(ended),
        }


def _check(columns: list[tuple[str, bool]], known: set[str]) -> list[str]:
    """The columns to fill; fail on a required column without a default we cannot fill."""
    unknown = [name for name, required in columns if required and name not in known]
    if unknown:
        raise RuntimeError(f"builds has required columns the seeder does not know: {unknown}")
    return [name for name, _ in columns if name in known]


def seed_builds(db: Database, component: str, count: int) -> None:
    sample = next(_rows(component, 1, isinstance(db, SQLiteDatabase)))
    if isinstance(db, SQLiteDatabase):
        _seed_sqlite(db, component, count, set(sample))
    elif isinstance(db, PostgresDatabase):
        _seed_postgres(db, component, count, set(sample))


def _seed_sqlite(db: SQLiteDatabase, component: str, count: int, known: set[str]) -> None:
    conn = sqlite3.connect(db.path, timeout=60)
    conn.execute("PRAGMA synchronous=OFF")  # seeding only: the server keeps FULL
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for the index pages
    try:
        info = conn.execute("PRAGMA table_info(builds)").fetchall()
        # (cid, name, type, notnull, default, pk): the integer key fills itself.
        names = _check([(r[1], bool(r[3]) and r[4] is None and not r[5]) for r in info], known)
        # Column names come from the schema itself, not from input.
        sql = f"INSERT INTO builds ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
        rows = (tuple(row[n] for n in names) for row in _rows(component, count, True))
        with conn:
            while chunk := [row for _, row in zip(range(CHUNK), rows, strict=False)]:
                conn.executemany(sql, chunk)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _seed_postgres(db: PostgresDatabase, component: str, count: int, known: set[str]) -> None:
    with psycopg.connect(db.dsn) as conn:
        info = conn.execute(
            "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL "
            "FROM information_schema.columns WHERE table_name = 'builds' ORDER BY ordinal_position"
        ).fetchall()
        names = _check([(name, bool(required)) for name, required in info], known)
        copy_sql = f"COPY builds ({', '.join(names)}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for row in _rows(component, count, False):
                copy.write_row(tuple(row[n] for n in names))
        conn.commit()
        conn.execute("ANALYZE builds")
