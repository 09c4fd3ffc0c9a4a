"""``extci db copy --to postgresql://…``: a SQLite installation with thousands of builds
moves to an empty PostgreSQL database; every table's rows and checksum match, the ids
continue where they were, and the old CI keys and tokens keep working (same secret key)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from extci.app import create_app
from extci.cli.errors import ExitCode
from extci.cli.main import main as extci
from extci.config import Settings
from extci.db import make_engine, make_session_factory
from extci.maintenance import repository
from tests.ops.bulk import build_row, insert_builds
from tests.support import events as ev
from tests.support import factories
from tests.support.api import SECRET
from tests.support.databases import PostgresDatabase, SQLiteTemplate

BUILDS = 5000


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: repository.count(conn, t) for t in repository.tables()}


@pytest.mark.postgres
def test_a_sqlite_installation_moves_to_postgresql_and_its_keys_keep_working(
    tmp_path: Path,
    sqlite_template: SQLiteTemplate,
    postgres_database: PostgresDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_url = sqlite_template.fresh(tmp_path)
    target_url = postgres_database.empty()
    source = make_engine(source_url)
    sessions = make_session_factory(source)
    token = factories.make_user(sessions, SECRET.encode(), "admin", "admin")
    factories.make_component(sessions, "orders")
    key = factories.make_key(sessions, SECRET.encode(), "orders")[1]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    insert_builds(
        source,
        [
            build_row(
                "orders",
                f"p{i}",
                status=("SUCCESSFUL", "FAILED", "BUILDING")[i % 3],
                branch=f"b{i % 7}",
                at=start + timedelta(minutes=i),
            )
            for i in range(BUILDS)
        ],
    )
    before = counts(source)
    source.dispose()
    assert before["builds"] == BUILDS

    monkeypatch.setenv("EXTCI_DATABASE_URL", source_url)
    monkeypatch.setenv("EXTCI_DATA_DIR", str(tmp_path))
    began = time.monotonic()
    assert extci(["db", "copy", "--to", target_url]) == 0
    seconds = time.monotonic() - began
    out = capsys.readouterr()
    table_lines = out.out.splitlines()[1:]
    assert {line.split()[0] for line in table_lines} == set(before)
    assert all(line.split()[-1] == "ok" for line in table_lines)
    total = sum(before.values())
    assert f"copied {total} rows in {len(before)} tables" in out.err
    assert seconds < 60

    target = make_engine(target_url)
    try:
        assert counts(target) == before
    finally:
        target.dispose()

    # A second copy into the now non-empty database is refused, and changes nothing.
    assert extci(["db", "copy", "--to", target_url]) == ExitCode.DATAERR
    assert "not empty" in capsys.readouterr().err

    settings = Settings(database_url=target_url, secret_key=SECRET, data_dir=tmp_path / "pg")
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            auth = {"Authorization": f"Bearer {token}"}
            page = client.get("/api/v1/components/orders/builds?limit=1", headers=auth)
            assert page.status_code == 200, page.text
            assert page.json()["items"][0]["pipelineId"] == f"p{BUILDS - 1}"
            r = client.post(
                "/ci/webhook",
                json=ev.start("after-the-move", "orders"),
                headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
            )
            assert r.status_code == 200, r.text  # the old key, and a fresh id past the copied
            newest = client.get("/api/v1/components/orders/builds?limit=1", headers=auth)
            assert newest.json()["items"][0]["pipelineId"] == "after-the-move"
    finally:
        app.state.runtime.close()


def test_the_target_must_be_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXTCI_DATA_DIR", str(tmp_path))
    assert extci(["db", "copy", "--to", f"sqlite:///{tmp_path}/other.db"]) == ExitCode.DATAERR
    assert "PostgreSQL URL" in capsys.readouterr().err
