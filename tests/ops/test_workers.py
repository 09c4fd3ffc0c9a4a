"""``extci serve --workers``: several processes on one port, on PostgreSQL only; and
``make run`` serving where EXTCI_HOST/EXTCI_PORT say."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from extci.db import make_engine, make_session_factory
from tests.support import events as ev
from tests.support import factories
from tests.support.api import SECRET
from tests.support.databases import PostgresDatabase
from tests.support.eventually import eventually
from tests.support.live import EXTCI, LiveServer

ROOT = Path(__file__).resolve().parents[2]


def _post(url: str, key: str, event: dict[str, Any], request_id: str) -> tuple[int, Any, str]:
    request = urllib.request.Request(  # noqa: S310 - a local URL
        f"{url}/ci/webhook",
        data=json.dumps(event).encode(),
        method="POST",
        headers={**ev.HEADERS, "X-Codenow-Api-Key": key, "X-Request-Id": request_id},
    )
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - a new connection each
        return r.status, json.loads(r.read()), r.headers["X-Request-Id"]


def _seed(database_url: str) -> tuple[str, str]:
    """An admin's token and an external component's CI key, straight into the database
    (faster than the CLI's processes): (token, key)."""
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        token = factories.make_user(sessions, SECRET.encode(), "tester", "admin")
        factories.make_component(sessions, "orders")
        return token, factories.make_key(sessions, SECRET.encode(), "orders")[1]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_on_one_port_deduplicate_each_others_events(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    database_url = postgres_database.empty()
    token, key = _seed(database_url)
    server = LiveServer(
        tmp_path / "server",
        database_url=database_url,
        extra_env={"EXTCI_WORKERS": "2", "EXTCI_LOG_FORMAT": "json", "EXTCI_SECRET_KEY": SECRET},
    )
    server.token = token
    try:
        server.launch(within=60)  # two processes importing everything on a busy machine
        eventually(  # /readyz answered by one worker; wait for the other as well
            lambda: server.log_path.read_text().count("Application startup complete"),
            lambda started: started == 2,
            within=60,
        )
        event = ev.start("run-1", "orders")
        answers: list[tuple[int, Any, str]] = []
        served_by: set[int] = set()
        deadline = time.monotonic() + 10
        # The same start event, many times at once on separate connections, until both
        # worker processes have answered some of them.
        while len(served_by) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(8) as pool:
                ids = [f"dup-{len(answers) + i}" for i in range(16)]
                answers += pool.map(lambda rid: _post(server.url, key, event, rid), ids)
            log = [
                json.loads(line)
                for line in server.log_path.read_text().splitlines()
                if line.startswith("{")
            ]
            served_by = {e["pid"] for e in log if e.get("path") == "/ci/webhook"}
        assert len(served_by) == 2, "both workers served webhook requests"
        assert all(status == 200 for status, _, _ in answers)
        assert [body["duplicate"] for _, body, _ in answers].count(False) == 1
        assert [b["pipelineId"] for b in server.builds("orders")] == ["run-1"]
        # Each answer echoes the request id it was sent; the log line names it too.
        assert all(echoed.startswith("dup-") for _, _, echoed in answers)
        lines = {e["request_id"]: e for e in log if e.get("path") == "/ci/webhook"}
        first = lines[answers[0][2]]
        assert (first["status"], first["component"], first["pipeline_id"]) == (
            200,
            "orders",
            "run-1",
        )
        assert {"time", "level", "message", "method", "duration_ms"} <= first.keys()
        text = server.log_path.read_text()
        assert key not in text  # never a secret
        assert server.token not in text
    finally:
        server.stop()


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {**os.environ, "EXTCI_DATA_DIR": str(tmp_path), "EXTCI_WORKERS": "2"}
    env.pop("EXTCI_DATABASE_URL", None)
    done = subprocess.run(
        [EXTCI, "serve"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one line
    assert "2 workers need PostgreSQL" in done.stderr
    assert not (tmp_path / "extci.db").exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, [], "extci serve"),
        ({"EXTCI_PORT": "9000", "EXTCI_HOST": "::1"}, [], "extci serve"),  # read by serve
        ({}, ["PORT=9001"], "extci serve --port 9001"),
        ({"PORT": "9002"}, [], "extci serve --port 9002"),
        ({}, ["HOST=::1", "PORT=9003"], "extci serve --host ::1 --port 9003"),
    ],
)
def test_make_run_leaves_host_and_port_to_the_settings_unless_given(
    env: dict[str, str], args: list[str], expected: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}
    done = subprocess.run(
        ["make", "-s", "-n", "run", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    serve = [line for line in done.stdout.splitlines() if "extci serve" in line]
    assert serve, done.stdout
    assert serve[-1].endswith(expected), done.stdout
