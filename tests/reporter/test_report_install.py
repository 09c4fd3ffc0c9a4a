"""``pip install extci`` alone gives a working reporter and no server dependency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reporter.reporter_helpers import base_env, make_git_repo, unique

pytestmark = pytest.mark.slow

# What a fresh venv may hold besides extci: the installer's own packages.
INSTALLER = {"pip", "setuptools", "wheel"}


def test_the_reporter_installs_alone_and_reports_a_failed_build(
    live_server: Any, tmp_path: Path, source_copy: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", str(source_copy)], check=True, timeout=600)
    listed = subprocess.run(
        [*pip, "list", "--format=json"], check=True, capture_output=True, text=True
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert installed - INSTALLER == {"extci"}, f"installed: {sorted(installed)}"

    # What a new user does: the reporter from that venv, against a running server.
    component = unique("orders")
    key = live_server.external_component(component)
    make_git_repo(tmp_path / "work")
    env = base_env(EXTCI_URL=live_server.url, EXTCI_CI_KEY=key, EXTCI_COMPONENT=component)
    env["EXTCI_PIPELINE_ID"] = pipeline_id = unique("run")
    done = subprocess.run(
        [str(venv / "bin" / "extci"), "report", "run", "--", "sh", "-c", "exit 3"],
        env=env, cwd=tmp_path / "work", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert live_server.build(component, pipeline_id)["status"] == "FAILED"

    # Without a configured server, a data command in this install says what to do (log in,
    # or install the server) in one line, not a traceback; serve and db need the server.
    def extci(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "extci"), *args], env=env | extra, cwd=tmp_path,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    admin = extci("components", "list")
    assert admin.returncode == 78  # EX_CONFIG
    assert admin.stdout == ""
    assert admin.stderr == (
        "extci: no server configured: run 'extci login --server URL' (or set EXTCI_URL and "
        "EXTCI_TOKEN), or install extci with its server extra (extci[server], see the README) "
        "to work on its "
        "database\n"
    )
    needs_server = (
        "extci: this command needs the server: install extci with its server extra "
        "(pip install 'extci[server] @ git+<extci repository URL>', see the README)\n"
    )
    db = extci("db", "upgrade")
    assert (db.returncode, db.stderr) == (78, needs_server)
    prune = extci("builds", "prune", "--older-than", "180d")  # parsed by the server's code
    assert (prune.returncode, prune.stderr) == (78, needs_server)
    # With a server and a token, the same install runs the commands through the API.
    remote = extci("components", "list", EXTCI_TOKEN=live_server.token)
    assert remote.returncode == 0, remote.stderr
    assert re.search(rf"^{component} +{component} +application-component +external$",
                     remote.stdout, re.MULTILINE)  # fmt: skip
