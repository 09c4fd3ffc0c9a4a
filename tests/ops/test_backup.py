"""``extci db backup`` while a live server takes events, then ``extci db restore`` into an
empty data directory: the backup is one consistent snapshot (whole builds, each exactly as
the server stored it, at least every event acknowledged before the backup began), and the
restored installation's token works because the secret key came along."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.cli.errors import ExitCode
from extci.cli.main import main as extci
from extci.config import Settings, create_secret_key
from extci.db import make_engine, make_session_factory
from tests.support import events as ev
from tests.support import factories
from tests.support.databases import SQLiteTemplate
from tests.support.live import EXTCI, LiveServer

pytestmark = pytest.mark.slow


def _builds(path: Path) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = conn.execute("SELECT * FROM builds").fetchall()
    return {row[1]: row for row in rows}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXTCI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _extci(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str]:
    """The command in this process (a process start costs seconds): exit code, stderr."""
    with monkeypatch.context() as m:
        m.delenv("EXTCI_DATABASE_URL", raising=False)
        for name, value in env.items():
            m.setenv(name, value)
        code = extci(args)
    return code, capsys.readouterr().err


def test_backup_under_load_and_restore(
    tmp_path: Path,
    sqlite_template: SQLiteTemplate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database_url = sqlite_template.fresh(data)
    settings = Settings(data_dir=data, database_url=database_url)
    create_secret_key(settings)  # into data/secret_key, as a first start does
    secret = settings.hmac_key
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    token = factories.make_user(sessions, secret, "admin", "admin")
    factories.make_component(sessions, "orders")
    key = factories.make_key(sessions, secret, "orders")[1]
    engine.dispose()

    server = LiveServer(
        data, database_url=database_url, extra_env={"EXTCI_RATE_LIMIT_PER_MINUTE": "1000000"}
    )
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            pipeline = f"w{worker}-{n}"
            request = urllib.request.Request(  # noqa: S310 - a local URL
                f"{server.url}/ci/webhook",
                data=json.dumps(ev.start(pipeline, "orders")).encode(),
                headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
                assert r.status == 200
            acknowledged.append(pipeline)

    backup = tmp_path / "backups" / "extci.db"
    backup.parent.mkdir()
    env = {"EXTCI_DATA_DIR": str(data), "EXTCI_DATABASE_URL": database_url}
    try:
        server.launch()
        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while len(acknowledged) < 200:  # the server is busy writing
            assert all(t.is_alive() for t in threads), "a load thread failed"
            assert time.monotonic() < deadline, f"only {len(acknowledged)} events stored"
            time.sleep(0.05)
        before = set(acknowledged)
        code, err = _extci(["db", "backup", str(backup)], env, monkeypatch, capsys)
        after = set(acknowledged)
        time.sleep(0.5)  # writes continue after the backup
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        stop.set()
        server.stop()
    assert code == 0, err
    figures = re.search(r"backed up (\d+) builds to .* \((\d+) bytes in ([\d.]+) s\)", err)
    assert figures, err
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    live, saved = _builds(data / "extci.db"), _builds(backup)
    assert int(figures.group(1)) == len(saved)
    assert before <= saved.keys() <= after  # a snapshot taken while the backup ran
    assert len(live) > len(saved)  # the server went on writing
    assert all(live[pipeline] == row for pipeline, row in saved.items())

    # Restore into an empty data directory; a non-empty one is refused.
    restored_dir = tmp_path / "restored"
    code, err = _extci(
        ["db", "restore", str(backup)], {"EXTCI_DATA_DIR": str(data)}, monkeypatch, capsys
    )
    assert code == ExitCode.DATAERR
    assert "not empty" in err
    code, err = _extci(
        ["db", "restore", str(backup)], {"EXTCI_DATA_DIR": str(restored_dir)}, monkeypatch, capsys
    )
    assert code == 0, err
    assert _builds(restored_dir / "extci.db") == saved
    assert (restored_dir / "secret_key").read_bytes() == (data / "secret_key").read_bytes()

    app = create_app(Settings(data_dir=restored_dir, create_admin=False))
    try:
        with TestClient(app) as client:
            r = client.get(
                "/api/v1/components/orders/builds?limit=200",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200, r.text
            assert len(r.json()["items"]) == min(200, len(saved))
    finally:
        app.state.runtime.close()


def test_backup_is_for_sqlite_only(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXTCI_DATA_DIR": str(tmp_path),
        "EXTCI_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    done = _run("db", "backup", str(tmp_path / "b.db"), env=env)
    assert done.returncode == ExitCode.DATAERR
    assert "pg_dump" in done.stderr
