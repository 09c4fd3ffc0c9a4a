"""Retried jobs in one pipeline run (docs/ci-setup.md, "Retried jobs"), as GitLab sets
the variables: every job shares CI_PIPELINE_ID, a retried job gets a new CI_JOB_ID."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reporter.reporter_helpers import live_env, make_git_repo, run_extci, unique

pytestmark = pytest.mark.slow

CONTAINER = ["container", "--repository-url", "registry.example.org",
             "--artifact-path", "acme/orders", "--artifact-version", "1.0.7"]  # fmt: skip
HELM = ["helm", "--repository-url", "oci://charts.example.org",
        "--artifact-path", "orders", "--artifact-version", "1.0.7"]  # fmt: skip


def gitlab_job(env: dict[str, str], pipeline: str, job: int, **extra: str) -> dict[str, str]:
    return env | {
        "GITLAB_CI": "true", "CI_PIPELINE_ID": pipeline, "CI_JOB_ID": str(job),
        "CI_PROJECT_URL": "https://gitlab.example.org/acme/orders", "CI_COMMIT_REF_NAME": "main",
        "EXTCI_BUILD_VERSION": "1.0.7", **extra,
    }  # fmt: skip


def test_a_retried_job_joins_the_run_until_its_end_then_is_refused(
    live_server: Any, tmp_path: Path
) -> None:
    component = unique("orders")
    env = live_env(live_server, live_server.external_component(component), component)
    make_git_repo(tmp_path)
    pipeline = "7001"

    def job(number: int, *args: str) -> tuple[int, str]:
        done = run_extci(["report", *args], gitlab_job(env, pipeline, number), cwd=tmp_path)
        return done.returncode, done.stderr

    assert job(1, "start")[0] == 0  # .pre
    assert job(1, "result", "git-revision")[0] == 0
    assert job(2, "result", *CONTAINER)[0] == 0  # package
    assert job(3, "result", *CONTAINER)[0] == 0  # package, retried while the run is open
    assert job(4, "start")[0] == 0  # a second start of the same run is a no-op
    assert job(5, "end", "--result", "FAILED")[0] == 0  # .post, on_failure (publish failed)

    # publish retried after the run's end: refused, and the build stays FAILED
    code, err = job(6, "result", *HELM)
    assert code == 65, err
    assert "has ended (FAILED)" in err
    code, err = job(7, "end", "--result", "SUCCESSFUL")
    assert code == 65, err
    assert "already ended with FAILED" in err

    [summary] = live_server.builds(component)
    build = live_server.build(component, summary["pipelineId"])
    assert build["pipelineId"] == f"{component}/gitlab/{pipeline}"
    assert build["status"] == "FAILED"
    assert sorted(r["type"] for r in build["results"]) == ["container", "git-revision"]


def test_per_job_scope_makes_one_build_per_job(live_server: Any, tmp_path: Path) -> None:
    component = unique("orders")
    env = live_env(live_server, live_server.external_component(component), component)
    make_git_repo(tmp_path)
    for job in (1, 2):
        job_env = gitlab_job(env, "7002", job, EXTCI_RUN_SCOPE="job")
        done = run_extci(["report", "run", "--", "true"], job_env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    ids = sorted(b["pipelineId"] for b in live_server.builds(component))
    assert ids == [f"{component}/gitlab/7002/1", f"{component}/gitlab/7002/2"]
