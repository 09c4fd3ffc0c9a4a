"""Transient faults (issue 9, item 3): while the database is locked, full, or dropping
connections, every event gets 503 with Retry-After (never a 500, never a 200 for an event
that was not stored); once the fault clears, the same extci process (no restart) stores the
retried events exactly once. Shutdown in progress is covered in test_shutdown.py."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.faults.conftest import Servers
from tests.faults.support import (
    NO_RATE_LIMIT,
    RunLoad,
    Store,
    assert_runs_stored_once,
    headers_for,
    pipeline_events,
)
from tests.support.databases import PG_ADMIN_URL
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


def send(server: LiveServer, event: dict[str, Any], key: str) -> httpx.Response:
    return httpx.post(server.url + "/ci/webhook", json=event, headers=headers_for(key), timeout=30)


def assert_unavailable(response: httpx.Response) -> None:
    """503 problem+json with Retry-After: the contract's 'transient, safe to retry'."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"].isdigit(), dict(response.headers)


def fault_then_recovery(
    server: LiveServer, key: str, component_id: str, fault: Any, clear: Any
) -> list[str]:
    """Send a start event per pipeline during the fault (each must be 503), clear it,
    retry (each must be 200, not a duplicate: nothing was stored), and return the ids."""
    pid_before = server.pid
    pipelines = [f"during-fault-{n}" for n in range(3)]
    fault()
    try:
        for pipeline_id in pipelines:
            assert_unavailable(send(server, pipeline_events(pipeline_id, component_id)[0], key))
    finally:
        clear()
    for pipeline_id in pipelines:
        for event in pipeline_events(pipeline_id, component_id):
            r = send(server, event, key)
            assert r.status_code == 200, r.text
            assert r.json()["duplicate"] is False, r.text  # the 503 stored nothing
    assert server.pid == pid_before  # recovered without a restart
    return pipelines


# ---- SQLite -------------------------------------------------------------------------------


def test_sqlite_locked_past_the_busy_timeout_is_503_then_retries_store_once(
    servers: Servers, sqlite_url: str
) -> None:
    database_url = sqlite_url
    server = servers.on(database_url, EXTCI_SQLITE_BUSY_TIMEOUT="300ms", **NO_RATE_LIMIT)
    key = server.external_component("locked")
    path = database_url.split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None, timeout=5)

    def hold_write_lock() -> None:  # another process's long write transaction
        holder.execute("BEGIN IMMEDIATE")

    try:
        stored = fault_then_recovery(
            server, key, "locked", hold_write_lock, lambda: holder.execute("ROLLBACK")
        )
    finally:
        holder.close()
    server.stop()
    assert_runs_stored_once(Store(database_url), "locked", stored)


def _mount_tmpfs(directory: Path, size: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs to fill ({done.stderr.strip() or done.returncode})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the disk-full fault must run)")
        pytest.skip(reason)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs) to put the SQLite database on and fill up."""
    directory = tmp_path / "small-disk"
    directory.mkdir()
    _mount_tmpfs(directory, "4m")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def test_sqlite_disk_full_is_503_then_retries_store_once(
    servers: Servers, sqlite_url: str, small_disk: Path
) -> None:
    db_file = small_disk / "extci.db"
    shutil.copyfile(sqlite_url.split("///", 1)[1], db_file)
    url = f"sqlite:///{db_file}"
    server = servers.on(url, **NO_RATE_LIMIT)
    filler = small_disk / "filler"
    try:
        key = server.external_component("full")

        def fill_the_disk() -> None:
            with filler.open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass  # ENOSPC: the disk is full
            assert shutil.disk_usage(small_disk).free < 65536

        stored = fault_then_recovery(server, key, "full", fill_the_disk, filler.unlink)
    finally:
        server.stop()
    assert_runs_stored_once(Store(url), "full", stored)
    assert Store(url).integrity_check() == "ok"


# ---- PostgreSQL ---------------------------------------------------------------------------


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def terminate_backends(database_url: str) -> int:
    """``pg_terminate_backend`` on every connection to the test's database but our own."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": _database_name(database_url)},
                ).all()
            )
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_backends_terminated_under_load_never_500_and_store_once(
    servers: Servers, postgres_url: str
) -> None:
    database_url = postgres_url
    server = servers.on(database_url, **NO_RATE_LIMIT)
    key = server.external_component("terminated")
    load = RunLoad(server.url, key, "terminated", connections=8)
    terminated: list[int] = []

    async def terminator() -> None:
        try:
            for _ in range(12):
                await asyncio.sleep(0.5)
                terminated.append(await asyncio.to_thread(terminate_backends, database_url))
        finally:
            load.finish()

    async def main() -> None:
        await asyncio.gather(load.run(), terminator())

    pid_before = server.pid
    asyncio.run(main())
    print(f"\nterminated {sum(terminated)} backends in 12 rounds; {load.tally.summary()}")
    assert server.pid == pid_before
    assert server.process is not None
    assert server.process.poll() is None  # no restart, no crash
    assert not load.tally.breaches  # only 200, or 503 retried
    assert load.tally.missing_retry_after == 0
    assert sum(terminated) > 0
    server.stop()
    assert_runs_stored_once(Store(database_url), "terminated", load.started_runs)


@pytest.fixture
def limited_role(postgres_url: str) -> Iterator[str]:
    """A login role of its own for the server, so its connections can be refused
    (superusers ignore connection limits); yields the database URL as that role."""
    role = f"extci_fault_{uuid.uuid4().hex[:8]}"
    # No pooling: the test terminates every other connection to this database.
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    try:
        yield postgres_url.replace("postgres@", f"{role}@", 1)
    finally:
        with engine.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_connections_exhausted_is_503_then_retries_store_once(
    servers: Servers, postgres_url: str, limited_role: str
) -> None:
    role = limited_role.split("://", 1)[1].split("@", 1)[0]
    server = servers.on(limited_role, **NO_RATE_LIMIT)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def refuse_connections() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT 0'))
        terminate_backends(limited_role)  # the pool must connect again, and cannot

    def allow_connections() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT -1'))

    try:
        key = server.external_component("exhausted")
        stored = fault_then_recovery(
            server, key, "exhausted", refuse_connections, allow_connections
        )
    finally:
        allow_connections()
        admin.dispose()
        server.stop()
    assert_runs_stored_once(Store(postgres_url), "exhausted", stored)
