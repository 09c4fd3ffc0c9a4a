"""Helpers for running ``extci report`` as a subprocess, the way a CI job runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXTCI = [sys.executable, "-m", "extci.cli.main"]

# Variables by which the reporter recognises a CI; cleared so that the machine running
# the tests (which may itself be a CI) never leaks into them.
_CI_PREFIXES = (
    "GITHUB_", "GITLAB_", "CI_", "TF_BUILD", "SYSTEM_", "BUILD_", "BITBUCKET_", "CIRCLE",
    "JENKINS_", "JOB_NAME", "GIT_", "BRANCH_NAME", "CHANGE_", "TAG_NAME", "EXTCI_",
    "ACTIONS_ID_TOKEN_",
)  # fmt: skip


def is_ci_variable(name: str) -> bool:
    return name.startswith(_CI_PREFIXES)


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment for a subprocess: no CI variables, the venv's ``extci`` on PATH."""
    env = {k: v for k, v in os.environ.items() if not is_ci_variable(k) and k != "CI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run_extci(
    args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXTCI, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def unique(prefix: str) -> str:
    """A fresh component or pipeline id, so tests sharing one server never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def live_env(live_server: Any, ci_key: str, component: str, **extra: str) -> dict[str, str]:
    """Environment of a CI job pointed at the live server (and nothing of the server's)."""
    env = base_env(EXTCI_URL=live_server.url, EXTCI_CI_KEY=ci_key, EXTCI_COMPONENT=component)
    env.update(extra)
    return env


def make_git_repo(path: Path, remote: str = "https://git.example.org/acme/orders.git") -> str:
    """A git repository with one commit on ``main``; returns the commit sha."""
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.org", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "remote", "add", "origin", remote], check=True)
    (path / "README").write_text("demo\n")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "demo"], check=True)
    done = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return done.stdout.strip()
