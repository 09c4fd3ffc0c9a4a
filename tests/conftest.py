"""Fixtures: every database test runs on SQLite and on PostgreSQL, through real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from extci.app import create_app
from extci.config import Settings
from extci.runtime import Runtime
from tests.support import events as ev
from tests.support import factories
from tests.support.databases import (
    PostgresDatabase,
    SQLiteTemplate,
    engine_at_revision,
    require_postgres,
)
from tests.support.live import LiveServer

SECRET = "test-secret-key-that-is-long-enough-for-hmac"


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


@dataclass
class Api:
    """The app behind real HTTP semantics (httpx through ASGI), plus handy setup."""

    client: TestClient
    runtime: Runtime

    @property
    def secret(self) -> bytes:
        return self.runtime.settings.hmac_key

    def token(self, role: str = "admin", username: str | None = None) -> dict[str, str]:
        token = factories.make_user(self.runtime.sessions, self.secret, username or role, role)
        return {"Authorization": f"Bearer {token}"}

    def component(
        self,
        component_id: str = "orders-service",
        kind: str = "application-component",
        *,
        external: bool = True,
    ) -> str:
        factories.make_component(self.runtime.sessions, component_id, kind, external=external)
        return component_id

    def key(self, component_id: str = "orders-service", **kw: Any) -> str:
        return factories.make_key(self.runtime.sessions, self.secret, component_id, **kw)[1]

    def send(
        self,
        event: dict[str, Any] | bytes | str,
        key: str | None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = dict(ev.HEADERS)
        if key is not None:
            h["X-Codenow-Api-Key"] = key
        h.update(headers or {})
        if isinstance(event, dict):
            return self.client.post("/ci/webhook", json=event, headers=h)
        return self.client.post("/ci/webhook", content=event, headers=h)


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
