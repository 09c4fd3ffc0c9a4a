"""The reporter against a live ``extci serve`` process, as a CI job runs it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reporter.httpfakes import Servers, unavailable
from tests.reporter.reporter_helpers import (
    EXTCI,
    live_env,
    make_git_repo,
    run_extci,
    unique,
)
from tests.reporter.test_report_detect import CASES

pytestmark = pytest.mark.slow

ARTIFACTS = [
    "container", "--repository-url", "registry.example.org", "--artifact-path", "acme/orders",
    "--artifact-version", "1.4.0",
    "helm", "--repository-url", "oci://charts.example.org", "--artifact-path", "orders",
    "--artifact-version", "1.4.0",
]  # fmt: skip


def setup(live_server: Any, **extra: str) -> tuple[str, str, dict[str, str]]:
    """A fresh External CI component, a fresh pipeline id and a CI job's environment."""
    component, pid = unique("orders"), unique("run")
    key = live_server.external_component(component)
    return component, pid, live_env(live_server, key, component, EXTCI_PIPELINE_ID=pid, **extra)


def test_start_result_end(live_server: Any, tmp_path: Path) -> None:
    sha = make_git_repo(tmp_path)
    component, pid, env = setup(live_server)
    steps = [
        ["start", "--version", "1.4.0", "--actor", "jdoe", "--actor-fullname", "Jane Doe",
         "--dashboard-url", "https://ci.example.org/1", "--pipeline-name", "build"],
        ["result", "git-revision", *ARTIFACTS],
        ["end", "--result", "SUCCESSFUL"],
    ]  # fmt: skip
    for args in steps:
        done = run_extci(["report", *args], env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    build = live_server.build(component, pid)
    assert build["status"] == "SUCCESSFUL"
    assert build["buildVersion"] == "1.4.0"
    assert build["actor"] == {"username": "jdoe", "fullname": "Jane Doe"}
    assert build["dashboardUrl"] == "https://ci.example.org/1"
    assert build["gitRevision"] == {
        "repositoryUrl": "https://git.example.org/acme/orders.git",
        "branch": "main",
        "commitSha": sha,
    }
    assert build["missingResults"] == []
    assert [e["type"].split(".")[2] for e in build["events"]] == ["start", "result", "end"]


@pytest.mark.parametrize(
    ("command", "exit_code", "status"),
    [(["true"], 0, "SUCCESSFUL"), (["sh", "-c", "exit 3"], 3, "FAILED")],
)
def test_run_passes_the_exit_code_through(
    live_server: Any, tmp_path: Path, command: list[str], exit_code: int, status: str
) -> None:
    make_git_repo(tmp_path)
    component, pid, env = setup(live_server)
    done = run_extci(
        ["report", "run", "--version", "2.0", *ARTIFACTS, "--", *command], env, tmp_path
    )
    assert done.returncode == exit_code, done.stderr
    [build] = live_server.builds(component)
    assert (build["pipelineId"], build["status"]) == (pid, status)
    detail = live_server.build(component, pid)
    assert detail["gitRevision"]["branch"] == "main"  # detected from git, sent before the command
    types = {r["type"] for r in detail["results"]}
    assert types == ({"git-revision", "container", "helm"} if exit_code == 0 else {"git-revision"})


def test_run_cancelled_by_sigterm(live_server: Any, tmp_path: Path) -> None:
    make_git_repo(tmp_path)
    component, pid, env = setup(live_server)
    marker = tmp_path / "child-started"
    script = f"touch {marker}; sleep 60; echo not-cancelled"
    process = subprocess.Popen(
        [*EXTCI, "report", "run", "--version", "3.0", "--", "sh", "-c", script],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the command never started"
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert time.monotonic() - began < 10  # the child was stopped, not waited out
    assert "not-cancelled" not in out
    assert live_server.build(component, pid)["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("system", "ci_env", "run_key", "dashboard", "actor", "git"), CASES, ids=[c[0] for c in CASES]
)
def test_each_ci_environment_fills_the_build(
    live_server: Any,
    tmp_path: Path,
    system: str,
    ci_env: dict[str, str],
    run_key: str,
    dashboard: str,
    actor: Any,
    git: dict[str, str],
) -> None:
    component, _pid, env = setup(live_server, **ci_env)
    del env["EXTCI_PIPELINE_ID"]  # derived from the CI's variables
    done = run_extci(["report", "run", *ARTIFACTS, "--", "true"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pipeline_id = f"{component}/{run_key}"
    [summary] = live_server.builds(component)
    assert summary["pipelineId"] == pipeline_id
    assert summary["status"] == "SUCCESSFUL"
    build = live_server.build(component, pipeline_id)
    assert build["dashboardUrl"] == dashboard
    assert build["actor"] == {"username": actor.username, "fullname": actor.fullname}
    assert build["gitRevision"] == git
    assert build["buildVersion"] == git["commitSha"][:12]


def test_retries_leave_exactly_one_event(live_server: Any, servers: Servers) -> None:
    component, pid, env = setup(live_server)
    proxy = servers.proxy(live_server.url, [unavailable("1"), unavailable("1")])
    done = run_extci(["report", "start", "--version", "1.0"], env | {"EXTCI_URL": proxy.url})
    assert done.returncode == 0, done.stderr
    assert len(proxy.requests) == 3
    assert proxy.forwarded == 1
    build = live_server.build(component, pid)
    assert [e["type"] for e in build["events"]] == ["codenow.ci.start.event"]


def test_a_400_is_not_retried(live_server: Any, servers: Servers) -> None:
    component, _pid, env = setup(live_server)
    proxy = servers.proxy(live_server.url, [])
    too_long = "1." + "0" * 300  # buildVersion is limited to 128 characters
    done = run_extci(["report", "start", "--version", too_long], env | {"EXTCI_URL": proxy.url})
    assert done.returncode == 65
    assert len(proxy.requests) == 1
    assert "HTTP 400" in done.stderr
    assert "/buildVersion" in done.stderr
    assert live_server.builds(component) == []
