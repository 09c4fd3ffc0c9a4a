"""The ready-made pipelines in examples/, executed against a live server, not parsed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reporter.ci_emulation import parse_github, parse_jenkinsfile, run_github_steps
from tests.reporter.reporter_helpers import (
    EXAMPLES,
    REPO,
    base_env,
    live_env,
    make_git_repo,
    unique,
)

pytestmark = pytest.mark.slow

# Read before any fixture clears CI variables: in CI a missing tool is a failure.
IN_CI = os.environ.get("CI") == "true"
GITLAB_CI_LOCAL_DIR = REPO / "tools" / "gitlab-ci-local"
GITLAB_CI_LOCAL = GITLAB_CI_LOCAL_DIR / "node_modules" / ".bin" / "gitlab-ci-local"
DEPLOYABLE = {"container", "helm", "git-revision"}


def new_component(live_server: Any, **extra: str) -> tuple[str, dict[str, str]]:
    component = unique("orders")
    key = live_server.external_component(component)
    return component, live_env(live_server, key, component, **extra)


def only_build(live_server: Any, component: str) -> dict[str, Any]:
    [summary] = live_server.builds(component)
    detail: dict[str, Any] = live_server.build(component, summary["pipelineId"])
    return detail


# ---- plain POSIX sh + curl -----------------------------------------------------------

SHELL_EXAMPLE = EXAMPLES / "shell" / "extci-report.sh"
SHELL_RESULTS = {
    "EXTCI_BUILD_VERSION": "1.4.0",
    "EXTCI_CONTAINER_REPOSITORY_URL": "registry.example.org",
    "EXTCI_CONTAINER_PATH": "acme/orders",
    "EXTCI_CONTAINER_VERSION": "1.4.0",
    "EXTCI_HELM_REPOSITORY_URL": "oci://charts.example.org",
    "EXTCI_HELM_PATH": "orders",
    "EXTCI_HELM_VERSION": "1.4.0",
}


@pytest.mark.parametrize(
    ("command", "exit_code", "status"),
    [("exit 0", 0, "SUCCESSFUL"), ("exit 3", 3, "FAILED")],
)
def test_shell_example(
    live_server: Any, tmp_path: Path, command: str, exit_code: int, status: str
) -> None:
    sha = make_git_repo(tmp_path)
    component, env = new_component(
        live_server, EXTCI_PIPELINE_ID=unique("sh"), EXTCI_ACTOR="jdoe", **SHELL_RESULTS
    )
    done = subprocess.run(
        ["sh", str(SHELL_EXAMPLE), "run", "sh", "-c", command],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    build = only_build(live_server, component)
    assert build["status"] == status
    assert build["actor"]["username"] == "jdoe"
    assert build["gitRevision"]["commitSha"] == sha
    types = {r["type"] for r in build["results"]}
    assert types == (DEPLOYABLE if exit_code == 0 else {"git-revision"})


def test_shell_example_cancelled(live_server: Any, tmp_path: Path) -> None:
    make_git_repo(tmp_path)
    component, env = new_component(live_server, EXTCI_PIPELINE_ID=unique("sh"), **SHELL_RESULTS)
    marker = tmp_path / "started"
    process = subprocess.Popen(
        ["sh", str(SHELL_EXAMPLE), "run", "sh", "-c", f"touch {marker}; exec sleep 60"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert only_build(live_server, component)["status"] == "CANCELLED"


# ---- GitLab CI under gitlab-ci-local ---------------------------------------------------


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Path:
    """gitlab-ci-local from tools/gitlab-ci-local's lock file, which ``make test-tools``
    installs (``make test`` depends on it; a test never installs it: minutes of compiling)."""
    if not GITLAB_CI_LOCAL.exists():
        reason = f"{GITLAB_CI_LOCAL} is missing: run make test-tools"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the GitLab CI example must run)")
        pytest.skip(reason)
    return GITLAB_CI_LOCAL


def gitlab_project(tmp_path: Path, component: str) -> Path:
    """A git project holding the template and the example pipeline (component renamed)."""
    project = tmp_path / "project"
    (project / "examples" / "gitlab-ci").mkdir(parents=True)
    template = EXAMPLES / "gitlab-ci" / "extci.gitlab-ci.yml"
    shutil.copy(template, project / "examples" / "gitlab-ci" / template.name)
    pipeline = (EXAMPLES / "gitlab-ci" / ".gitlab-ci.yml").read_text()
    pipeline = pipeline.replace("EXTCI_COMPONENT: orders-service", f"EXTCI_COMPONENT: {component}")
    (project / ".gitlab-ci.yml").write_text(pipeline)
    make_git_repo(project, remote="https://gitlab.example.org/acme/orders.git")
    return project


def without_extci_on_path(env: dict[str, str]) -> dict[str, str]:
    """The job's PATH without the test venv: the template must fetch the reporter from
    the server, as on a real runner."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return {**env, "PATH": path}


# The example pipeline: compile (build) → unit-tests (test) → container-image (package, the
# container) → helm-chart (publish, helm), with the template's start in .pre and end in
# .post. The second scenario fails the last job after the container was reported.
GITLAB_JOBS = ["extci-start", "compile", "unit-tests", "container-image", "helm-chart"]


@pytest.mark.parametrize(
    ("fail", "status", "results"),
    [
        (False, "SUCCESSFUL", DEPLOYABLE),
        (True, "FAILED", {"git-revision", "container"}),
    ],
)
def test_gitlab_multi_stage_pipeline_is_one_build(
    live_server: Any,
    tmp_path: Path,
    gitlab_ci_local: Path,
    fail: bool,
    status: str,
    results: set[str],
) -> None:
    component, env = new_component(live_server)
    project = gitlab_project(tmp_path, component)
    if fail:  # the publish stage's job fails before it sends its result
        text = (project / ".gitlab-ci.yml").read_text()
        marker = '    - echo "Package and push'
        (project / ".gitlab-ci.yml").write_text(text.replace(marker, "    - exit 1\n" + marker))
    args = [str(gitlab_ci_local), "--shell-executor-no-image"]
    for name in ("EXTCI_URL", "EXTCI_CI_KEY"):
        args += ["--variable", f"{name}={env[name]}"]
    done = subprocess.run(
        args, env=without_extci_on_path(base_env()), cwd=project, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert (done.returncode != 0) == fail, log
    for job in [*GITLAB_JOBS, "extci-end-failure" if fail else "extci-end-success"]:
        assert job in log, log
    [summary] = live_server.builds(component)  # exactly one build for the whole pipeline
    build = live_server.build(component, summary["pipelineId"])
    assert build["status"] == status, log
    assert re.fullmatch(rf"{re.escape(component)}/gitlab/\d+", build["pipelineId"])
    assert build["gitRevision"]["repositoryUrl"] == "https://gitlab.example.org/acme/orders"
    assert build["actor"]["username"]  # GITLAB_USER_LOGIN, as gitlab-ci-local sets it
    assert {r["type"] for r in build["results"]} == results
    assert [e["type"].split(".")[2] for e in build["events"]] == [
        "start", "result", "result", *(["result"] if not fail else []), "end",
    ]  # fmt: skip


# ---- GitHub Actions: the workflow's steps and the composite action -----------------------


def github_env(env: dict[str, str], tmp_path: Path, run_id: str) -> dict[str, str]:
    sha = make_git_repo(tmp_path / "checkout")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    return env | {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/orders", "GITHUB_RUN_ID": run_id, "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_RUN_NUMBER": "42", "GITHUB_ACTOR": "jdoe", "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch", "GITHUB_SHA": sha, "RUNNER_TEMP": str(runner_temp),
    }  # fmt: skip


@pytest.mark.parametrize(("fail", "status"), [(False, "SUCCESSFUL"), (True, "FAILED")])
def test_github_actions_workflow(
    live_server: Any, tmp_path: Path, source_copy: Path, fail: bool, status: str
) -> None:
    component, env = new_component(live_server)
    workflow_env, steps = parse_github(EXAMPLES / "github-actions" / "workflow.yml")
    plain = {k: v for k, v in workflow_env.items() if "${{" not in v}
    env = github_env({**env, **plain, "EXTCI_COMPONENT": component}, tmp_path, "5550001")
    actions = {}
    if not fail:
        # The success run installs the reporter with the composite action, from the
        # checkout the action comes from (a copy of this one), with no development venv
        # on PATH.
        actions = {"acme/extci/examples/github-actions@": source_copy / "examples/github-actions"}
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    job_status, _env = run_github_steps(
        steps,
        env,
        tmp_path / "checkout",
        actions=actions,
        fail_step="Build and push" if fail else None,
    )
    assert job_status == ("failure" if fail else "success")
    build = only_build(live_server, component)
    assert build["pipelineId"] == f"{component}/github/acme/orders/5550001/1"
    assert build["status"] == status
    assert build["buildVersion"] == "1.0.42"
    assert build["dashboardUrl"] == "https://github.com/acme/orders/actions/runs/5550001/attempts/1"
    assert build["actor"]["username"] == "jdoe"
    assert {r["type"] for r in build["results"]} == ({"git-revision"} if fail else DEPLOYABLE)


# ---- Jenkins: the declarative pipeline's sh steps ------------------------------------------


@pytest.mark.parametrize(("fail", "status"), [(False, "SUCCESSFUL"), (True, "FAILED")])
def test_jenkinsfile(live_server: Any, tmp_path: Path, fail: bool, status: str) -> None:
    component, env = new_component(live_server)
    environment, stages, post = parse_jenkinsfile(EXAMPLES / "jenkins" / "Jenkinsfile")
    workspace = tmp_path / "workspace"
    sha = make_git_repo(workspace)
    env = {
        **env, **{k: v for k, v in environment.items() if not k.startswith("EXTCI_")},
        "JENKINS_URL": "https://jenkins.example.org/", "JOB_NAME": "orders/main",
        "BUILD_NUMBER": "57", "BUILD_URL": "https://jenkins.example.org/job/orders/job/main/57/",
        "WORKSPACE": str(workspace), "GIT_URL": "https://git.example.org/acme/orders.git",
        "GIT_BRANCH": "origin/main", "GIT_COMMIT": sha, "VERSION": "1.0.57",
    }  # fmt: skip
    result = "SUCCESS"
    for index, script in enumerate(stages):
        if fail and index == 1:  # the build stage fails
            script = "exit 1"
        done = subprocess.run(["sh", "-e", "-c", script], env=env, cwd=workspace, check=False)
        if done.returncode != 0:
            result = "FAILURE"
            break
    for script in post:
        subprocess.run(
            ["sh", "-e", "-c", script],
            env=env | {"BUILD_RESULT": result},
            cwd=workspace,
            check=True,
        )
    build = only_build(live_server, component)
    assert build["pipelineId"] == f"{component}/jenkins/orders/main/57"
    assert build["status"] == status
    assert build["dashboardUrl"] == "https://jenkins.example.org/job/orders/job/main/57/"
    assert build["gitRevision"] == {
        "repositoryUrl": "https://git.example.org/acme/orders.git",
        "branch": "main",
        "commitSha": sha,
    }
    assert {r["type"] for r in build["results"]} == ({"git-revision"} if fail else DEPLOYABLE)
