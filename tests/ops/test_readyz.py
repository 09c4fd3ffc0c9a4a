"""``/readyz`` answers 503 with Retry-After while the database cannot take a write, and 200
again once it can, in the same process: on SQLite while another process holds the write
lock, on PostgreSQL while the database refuses connections or is read-only (a standby).
``/healthz`` stays 200 throughout: the process is alive, only not ready."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from extci.app import create_app
from extci.config import Settings
from tests.support.databases import PG_ADMIN_URL


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"sqlite_busy_timeout": timedelta(seconds=0.2)}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.runtime.close()


def assert_ready(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok"}


def assert_not_ready(client: TestClient, reason: str) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"].isdigit()
    assert answer.json() == {"status": "unavailable", "reason": reason}
    assert client.get("/healthz").status_code == 200


def _sqlite_path(settings: Settings) -> str:
    database = make_url(settings.resolved_database_url).database
    assert database
    return database


SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@SQLITE
def test_not_ready_while_another_process_holds_the_sqlite_write_lock(
    settings: Settings, client: TestClient
) -> None:
    assert_ready(client)
    holder = sqlite3.connect(_sqlite_path(settings), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as another writer holds it
        assert_not_ready(client, "OperationalError")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_ready(client)


@POSTGRESQL
def test_not_ready_while_postgresql_refuses_connections(
    settings: Settings, client: TestClient
) -> None:
    name = make_url(settings.resolved_database_url).database
    assert_ready(client)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        assert_not_ready(client, "OperationalError")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert_ready(client)


@POSTGRESQL
def test_not_ready_while_postgresql_is_read_only(settings: Settings, client: TestClient) -> None:
    name = make_url(settings.resolved_database_url).database
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    assert_ready(client)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        engine.dispose()  # new connections read the database's new default
        assert_not_ready(client, "RuntimeError")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()
    engine.dispose()
    assert_ready(client)
