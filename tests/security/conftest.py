"""One installation per database for a whole test module: the principals are created once
(users, tokens, keys, signed-in sessions), the tests make fresh targets as they go."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.support.api import SECRET
from tests.support.databases import PostgresDatabase, SQLiteTemplate
from tests.support.world import World, populate


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: SQLiteTemplate,
) -> str:
    """Like ``database_url``, for a module: nothing else uses the database meanwhile
    (the tests of one module run together)."""
    if request.param == "sqlite":
        return sqlite_template.fresh(tmp_path_factory.mktemp("module-db"))
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    return database.empty()


@pytest.fixture(scope="module")
def world(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(
        database_url=module_database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key=SECRET,
        create_admin=False,
        # Nothing is sent while the matrix compares what each call changed.
        webhook_deliver=False,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield populate(World(client, app.state.runtime))
    app.state.runtime.close()
