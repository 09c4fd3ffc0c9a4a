"""Retention (EXTCI_RETENTION, ``extci builds prune``) on a clock the test sets: builds
whose last event is older than the limit go, with their results and timeline, except each
component's newest build per status and its newest deployable (SUCCESSFUL) build per branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from extci import clock
from extci.app import create_app
from extci.builds import retention
from extci.builds.models import Build, BuildEvent, BuildResult
from extci.cli.main import main as extci
from extci.config import Settings
from tests.ops.bulk import build_row, insert_builds
from tests.support.api import Api
from tests.support.eventually import eventually

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
LIMIT = timedelta(days=180)

# (pipeline, status, branch, days since its last event, kept?)
HISTORY = [
    ("o1", "SUCCESSFUL", "main", 400, False),  # o5 is main's newest deployable
    ("o2", "FAILED", "main", 390, False),  # o6 is the newest FAILED
    ("o3", "SUCCESSFUL", "feature-x", 380, True),  # feature-x's newest deployable
    ("o4", "CANCELLED", "main", 370, True),  # the only CANCELLED
    ("o5", "SUCCESSFUL", "main", 300, True),  # main's newest deployable
    ("o6", "FAILED", "main", 10, True),  # recent
    ("o7", "SUCCESSFUL", "release", 200, True),  # release's newest deployable
    ("o8", "BUILDING", "main", 250, False),  # LOST; o9 is the newest BUILDING
    ("o9", "BUILDING", "main", 5, True),  # recent
    ("o10", "INCOMPLETE", None, 365, True),  # the only INCOMPLETE
    ("o11", "SUCCESSFUL", None, 364, False),  # o12 is the newest deployable without a branch
    ("o12", "SUCCESSFUL", None, 363, True),
]


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    return NOW


def seed(api: Api) -> None:
    api.component("orders")
    api.component("billing", "library")
    rows = [
        build_row("orders", p, status=s, branch=b, at=NOW - timedelta(days=d))
        for p, s, b, d, _ in HISTORY
    ]
    rows.append(build_row("billing", "b1", at=NOW - timedelta(days=900)))  # its only build
    insert_builds(api.runtime.engine, rows)


def remaining(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Build.pipeline_id)).scalars())


def children(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        results = conn.execute(select(func.count()).select_from(BuildResult)).scalar_one()
        events = conn.execute(select(func.count()).select_from(BuildEvent)).scalar_one()
    return results, events


KEPT = {p for p, *_, kept in HISTORY if kept} | {"b1"}


@pytest.mark.parametrize("batch", [200, 1])
def test_prune_keeps_the_newest_per_status_and_deployable_per_branch(
    api: Api, now: datetime, batch: int
) -> None:
    seed(api)
    engine = api.runtime.engine
    [preview] = retention.preview(engine, LIMIT)
    assert (preview.component_id, preview.builds) == ("orders", 4)
    assert retention.prune(engine, LIMIT, batch=batch, pause=0) == 4
    assert remaining(engine) == KEPT
    assert children(engine) == (len(KEPT), len(KEPT))  # results and timeline went too
    assert retention.prune(engine, LIMIT, batch=batch, pause=0) == 0


def test_the_command_shows_then_prunes(
    api: Api, now: datetime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(api)
    settings = api.runtime.settings
    monkeypatch.setenv("EXTCI_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EXTCI_DATA_DIR", str(settings.data_dir))
    assert extci(["builds", "prune", "--older-than", "180d", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[1].split()[:2] == ["orders", "4"]
    assert "4 builds would be deleted (dry run" in out.err
    assert len(remaining(api.runtime.engine)) == len(HISTORY) + 1
    assert extci(["builds", "prune", "--older-than", "180d"]) == 0
    assert "deleted 4 builds" in capsys.readouterr().err
    assert remaining(api.runtime.engine) == KEPT


def test_the_server_prunes_in_the_background_when_retention_is_set(
    api: Api, settings: Settings, now: datetime
) -> None:
    seed(api)
    app = create_app(settings.model_copy(update={"retention": LIMIT}))
    try:
        with TestClient(app):
            eventually(lambda: remaining(api.runtime.engine), lambda left: left == KEPT, within=10)
    finally:
        app.state.runtime.close()


def test_retention_is_off_unless_set() -> None:
    assert Settings().retention is None
    assert Settings(retention="off").retention is None
    assert Settings(retention="180d").retention == timedelta(days=180)
    with pytest.raises(ValueError, match="duration"):
        Settings(retention="half a year")
