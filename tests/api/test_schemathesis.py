"""Schemathesis against a live ``extci serve``: every operation of the OpenAPI document (the
webhook included, with a CI key of its own), every check, all its phases (examples,
coverage, fuzzing and the stateful one that chains operations through the ids they
return), and zero failures.

The OpenAPI document is a contract a client may generate code from: a request it calls
valid must not be refused, one it calls invalid must be, a 405 lists the path's methods,
and nothing is ever a 5xx. The hooks (tests/support/schemathesis_hooks.py) give the run an
admin token of its own, renewed when the stateful phase deletes it, and leave out of the
positive cases the two values no schema can describe (a cursor the server issued, an expiry
in the future). SQLite only: the server is a real process on its own database file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
# Enough to cover every operation in every phase on two cores in under two minutes; raise it
# (and change the seed) to look harder: EXTCI_SCHEMATHESIS_EXAMPLES, EXTCI_SCHEMATHESIS_SEED.
EXAMPLES = os.environ.get("EXTCI_SCHEMATHESIS_EXAMPLES", "20")
SEED = os.environ.get("EXTCI_SCHEMATHESIS_SEED", "20261201")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path / "server",
        # The run subscribes webhooks to made-up hosts: this server sends none of them.
        extra_env={"EXTCI_RATE_LIMIT_PER_MINUTE": "100000", "EXTCI_WEBHOOK_DELIVER": "false"},
    ).start()
    try:
        yield live
    finally:
        live.stop()


def test_schemathesis_finds_nothing(server: LiveServer, tmp_path: Path) -> None:
    assert SCHEMATHESIS, "schemathesis is a dev dependency: make install-dev"
    env = {
        **server.base_env,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
        "EXTCI_SCHEMATHESIS_USER": "tester",
    }
    report = tmp_path / "report"
    done = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{server.url}/openapi.json",
            "--checks=all",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=1",
            "--no-color",
            "--request-timeout=30",
            f"--report-dir={report}",
            "--report=junit",
        ],
        env=env,
        cwd=tmp_path,  # its .schemathesis cache stays out of the work tree
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20000:]
    assert re.search(r"\d+ generated, \d+ passed", output), output[-5000:]
    assert "failure" not in output.split("SUMMARY")[-1], output[-5000:]
    # the run really exercised the API: every phase ran and the stateful one covered links
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, output[-5000:]
    # and it ran authenticated throughout: its token was renewed whenever it deleted it
    assert "Authentication failed" not in output, output[-5000:]
