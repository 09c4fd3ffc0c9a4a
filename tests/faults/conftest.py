"""Fixtures of the fault tests: real ``extci serve`` processes on the test's database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.api import SECRET
from tests.support.databases import PostgresDatabase, SQLiteTemplate
from tests.support.live import LiveServer

MakeServer = Callable[..., LiveServer]


class Servers:
    """Every ``extci serve`` process a test starts; stopped at its end. All share one
    secret key, and the first one's admin token serves them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[LiveServer] = []

    def on(self, database_url: str, name: str = "server", **env: str) -> LiveServer:
        server = LiveServer(
            self.tmp_path / name,
            database_url=database_url,
            extra_env={"EXTCI_SECRET_KEY": SECRET, **env},
        )
        self.started.append(server)
        if len(self.started) > 1:  # another process on the same database: users exist
            server.launch()
            server.token = self.started[0].token
        else:
            server.start()
        return server

    def stop(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def make_server(servers: Servers, database_url: str) -> MakeServer:
    """``make_server(name, **env)``: an ``extci serve`` process on this test's database
    (SQLite, then PostgreSQL), started and ready."""

    def make(name: str = "server", **env: str) -> LiveServer:
        return servers.on(database_url, name, **env)

    return make


@pytest.fixture
def sqlite_url(sqlite_template: SQLiteTemplate, tmp_path: Path) -> str:
    """For a fault only SQLite has (its write lock, its file on a full disk)."""
    return sqlite_template.fresh(tmp_path)


@pytest.fixture
def postgres_url(postgres_database: PostgresDatabase) -> str:
    """For a fault only PostgreSQL has (backends terminated, connections refused)."""
    return postgres_database.empty()
