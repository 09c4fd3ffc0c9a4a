"""Fixtures: every database test runs on SQLite and on PostgreSQL, through real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from extci.app import create_app
from extci.config import Settings
from tests.support.api import SECRET, Api
from tests.support.databases import (
    PostgresDatabase,
    SQLiteTemplate,
    engine_at_revision,
    require_postgres,
)
from tests.support.live import LiveServer
from tests.support.source import copy_of_the_tree

# Timing-sensitive modules: they kill processes at chosen moments, overload a server, or
# count what a deadline let through, so they must not share the cores with other tests.
# `make test` runs them after the parallel pass, alone (marker `serial`; a single test can
# carry the marker too).
SERIAL = (
    "tests/bench/test_bench_smoke.py",
    "tests/faults/test_kill.py",
    "tests/faults/test_overload.py",
    "tests/faults/test_shutdown.py",
    "tests/faults/test_transient.py",
    "tests/faults/test_two_servers.py",
    "tests/ingest/test_concurrency.py",
    "tests/test_slow_clients.py",
)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        if item.path.relative_to(root).as_posix() in SERIAL:
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session", autouse=True)
def no_cli_login(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' ``extci`` commands work on their own database: never on a server that the
    developer running them logged in to (``extci login``) or names in EXTCI_URL/EXTCI_TOKEN."""
    saved = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "EXTCI_TOKEN")}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ.pop("EXTCI_TOKEN", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SQLiteTemplate:
    return SQLiteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    require_postgres()
    database = PostgresDatabase()
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SQLiteTemplate
) -> str:
    if request.param == "sqlite":
        return sqlite_template.fresh(tmp_path)
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    return database.empty()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own at migration 0004, for the migrations that follow it."""
    with engine_at_revision(request.param, "0004", tmp_path) as engine:
        yield engine


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=SECRET,
        create_admin=False,
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, app.state.runtime)
    app.state.runtime.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real server process (``extci serve``) on a free port with its own SQLite file."""
    server = LiveServer(tmp_path / "server").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's files to pip-install extci from (the tree stays untouched)."""
    return copy_of_the_tree(tmp_path_factory.mktemp("source") / "extci")
