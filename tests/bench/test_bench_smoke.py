"""``make bench`` in its few-seconds mode: it runs end to end on SQLite and PostgreSQL, prints
every target row, and every acknowledged event was stored. Figures are not checked here
(speed is for the benchmark itself, see docs/performance.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import require_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_every_acknowledged_event_is_stored(tmp_path: Path) -> None:
    for tool in ("wrk", "hyperfine"):
        if shutil.which(tool) is None:
            reason = f"{tool} is not installed (apt-get install wrk hyperfine)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason}; CI=true: the benchmark's smoke run must run")
            pytest.skip(reason)
    require_postgres()
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--db", "both",
         "--results", str(results), "--before", str(tmp_path / "none.json")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for row in ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"):
        assert f"| {row} |" in done.stdout, f"no {row} row in:\n{done.stdout[-3000:]}"
    figures = json.loads(results.read_text())
    assert figures["failures"] == []
    checks = [line for line in done.stdout.splitlines() if "acknowledged" in line]
    # ingest (2 runs), whole runs (starts, ends), open loop, 256-style run: per database.
    assert len(checks) == 2 * 6, done.stdout
    assert all(line.rstrip().endswith(": ok") for line in checks), checks
    assert all(int(figures[kind]["ingest"]["8"]["durable"][0]) > 0
               for kind in ("sqlite", "postgresql"))  # fmt: skip
    assert "reporter" in figures
