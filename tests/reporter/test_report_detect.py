"""CI detection: each system's variables, set as that system sets them."""

from __future__ import annotations

from pathlib import Path

import pytest

from extci.reporter.detect import Actor, detect, pipeline_id, strip_credentials
from tests.reporter.reporter_helpers import make_git_repo

SHA = "0123456789abcdef0123456789abcdef01234567"

# (system, environment as the CI sets it, run key, dashboard URL, actor, git revision)
CASES = [
    (
        "github",
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/orders",
            "GITHUB_RUN_ID": "9876543210",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_ACTOR": "jdoe",
            "GITHUB_TRIGGERING_ACTOR": "asmith",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "",
            "GITHUB_SHA": SHA,
        },
        "github/acme/orders/9876543210/2",
        "https://github.com/acme/orders/actions/runs/9876543210/attempts/2",
        Actor("asmith"),
        {"repositoryUrl": "https://github.com/acme/orders", "branch": "main", "commitSha": SHA},
    ),
    (
        "gitlab",
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_ID": "41200",
            "CI_JOB_ID": "998877",
            "CI_PIPELINE_URL": "https://gitlab.example.org/acme/orders/-/pipelines/41200",
            "CI_PROJECT_URL": "https://gitlab.example.org/acme/orders",
            "CI_COMMIT_REF_NAME": "feature/x",
            "CI_COMMIT_SHA": SHA,
            "GITLAB_USER_LOGIN": "jdoe",
            "GITLAB_USER_NAME": "Jane Doe",
            "CI_REPOSITORY_URL": "https://gitlab-ci-token:secret@gitlab.example.org/acme/orders.git",
        },
        "gitlab/41200",
        "https://gitlab.example.org/acme/orders/-/pipelines/41200",
        Actor("jdoe", "Jane Doe"),
        {
            "repositoryUrl": "https://gitlab.example.org/acme/orders",
            "branch": "feature/x",
            "commitSha": SHA,
        },
    ),
    (
        "jenkins",
        {
            "JENKINS_URL": "https://jenkins.example.org/",
            "JOB_NAME": "orders/main",
            "BUILD_NUMBER": "57",
            "BUILD_URL": "https://jenkins.example.org/job/orders/job/main/57/",
            "BUILD_TAG": "jenkins-orders-main-57",
            "GIT_URL": "https://git.example.org/acme/orders.git",
            "GIT_BRANCH": "origin/main",
            "GIT_COMMIT": SHA,
            "BUILD_USER_ID": "jdoe",
            "BUILD_USER": "Jane Doe",
        },
        "jenkins/orders/main/57",
        "https://jenkins.example.org/job/orders/job/main/57/",
        Actor("jdoe", "Jane Doe"),
        {
            "repositoryUrl": "https://git.example.org/acme/orders.git",
            "branch": "main",
            "commitSha": SHA,
        },
    ),
    (
        "azure",
        {
            "TF_BUILD": "True",
            "BUILD_BUILDID": "1234",
            "SYSTEM_JOBATTEMPT": "3",
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
            "SYSTEM_TEAMPROJECT": "Orders App",
            "BUILD_REQUESTEDFOR": "Jane Doe",
            "BUILD_REQUESTEDFOREMAIL": "jdoe@example.org",
            "BUILD_REPOSITORY_URI": "https://dev.azure.com/acme/Orders/_git/orders",
            "BUILD_SOURCEBRANCH": "refs/heads/release/1.4",
            "BUILD_SOURCEBRANCHNAME": "1.4",
            "BUILD_SOURCEVERSION": SHA,
        },
        "azure/1234",
        "https://dev.azure.com/acme/Orders%20App/_build/results?buildId=1234",
        Actor("jdoe@example.org", "Jane Doe"),
        {
            "repositoryUrl": "https://dev.azure.com/acme/Orders/_git/orders",
            "branch": "release/1.4",
            "commitSha": SHA,
        },
    ),
    (
        "bitbucket",
        {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": "311",
            "BITBUCKET_REPO_FULL_NAME": "acme/orders",
            "BITBUCKET_STEP_UUID": "{5c4ad0b1-1d0e-4d25-a1b6-6a0a5b5b1f8e}",
            "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/orders",
            "BITBUCKET_BRANCH": "main",
            "BITBUCKET_COMMIT": SHA,
            "BITBUCKET_STEP_TRIGGERER_UUID": "{a1b2c3d4-0000-1111-2222-333344445555}",
        },
        "bitbucket/acme/orders/311",
        "https://bitbucket.org/acme/orders/pipelines/results/311",
        Actor("{a1b2c3d4-0000-1111-2222-333344445555}"),
        {"repositoryUrl": "https://bitbucket.org/acme/orders", "branch": "main", "commitSha": SHA},
    ),
    (
        "circleci",
        {
            "CI": "true",
            "CIRCLECI": "true",
            "CIRCLE_WORKFLOW_ID": "6fd1c0d2-3f4a-4b5c-8d9e-0a1b2c3d4e5f",
            "CIRCLE_BUILD_NUM": "88",
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/orders/88",
            "CIRCLE_USERNAME": "jdoe",
            "CIRCLE_REPOSITORY_URL": "git@github.com:acme/orders.git",
            "CIRCLE_BRANCH": "main",
            "CIRCLE_SHA1": SHA,
        },
        "circleci/6fd1c0d2-3f4a-4b5c-8d9e-0a1b2c3d4e5f",
        "https://circleci.com/gh/acme/orders/88",
        Actor("jdoe"),
        {"repositoryUrl": "git@github.com:acme/orders.git", "branch": "main", "commitSha": SHA},
    ),
]


@pytest.mark.parametrize(
    ("system", "env", "run_key", "dashboard", "actor", "git"), CASES, ids=[c[0] for c in CASES]
)
def test_each_ci_system_is_recognised(
    tmp_path: Path,
    system: str,
    env: dict[str, str],
    run_key: str,
    dashboard: str,
    actor: Actor,
    git: dict[str, str],
) -> None:
    ctx = detect(env, cwd=str(tmp_path))  # not a git repository: only the CI's variables count
    assert ctx.system == system
    assert ctx.run_key == run_key
    assert ctx.dashboard_url == dashboard
    assert ctx.actor == actor
    assert ctx.git == git
    assert pipeline_id("orders", run_key) == f"orders/{run_key}"


def test_github_pull_request_reports_the_source_branch(tmp_path: Path) -> None:
    env = dict(CASES[0][1], GITHUB_HEAD_REF="feature/login", GITHUB_REF_NAME="42/merge")
    assert detect(env, cwd=str(tmp_path)).git["branch"] == "feature/login"


def test_a_new_attempt_is_a_new_pipeline_but_steps_share_one(tmp_path: Path) -> None:
    env = CASES[0][1]
    first, again = detect(env, str(tmp_path)), detect(dict(env), str(tmp_path))
    retried = detect(dict(env, GITHUB_RUN_ATTEMPT="3"), str(tmp_path))
    assert first.run_key == again.run_key
    assert first.run_key != retried.run_key


# Every job (stage, step) of one run shares the run's key; EXTCI_RUN_SCOPE=job gives each
# job its own build, as the reporter did before.
JOB_SCOPED = {
    "gitlab": ({"CI_JOB_ID": "998878"}, "gitlab/41200/998877"),
    "azure": (
        {"SYSTEM_JOBID": "job-b", "SYSTEM_JOBATTEMPT": "1"},
        "azure/1234/job-a/3",
    ),
    "bitbucket": (
        {"BITBUCKET_STEP_UUID": "{00000000-1d0e-4d25-a1b6-6a0a5b5b1f8e}"},
        "bitbucket/acme/orders/311/5c4ad0b1-1d0e-4d25-a1b6-6a0a5b5b1f8e",
    ),
}


@pytest.mark.parametrize("system", sorted(JOB_SCOPED))
def test_jobs_of_one_run_share_the_run_key_unless_scoped_per_job(
    tmp_path: Path, system: str
) -> None:
    env = dict(next(c[1] for c in CASES if c[0] == system))
    env.setdefault("SYSTEM_JOBID", "job-a")
    other_job, per_job_key = JOB_SCOPED[system]
    first = detect(env, str(tmp_path)).run_key
    assert detect({**env, **other_job}, str(tmp_path)).run_key == first
    assert detect({**env, "EXTCI_RUN_SCOPE": "job"}, str(tmp_path)).run_key == per_job_key
    assert detect({**env, **other_job, "EXTCI_RUN_SCOPE": "job"}, str(tmp_path)).run_key not in (
        first,
        per_job_key,
    )


@pytest.mark.parametrize(
    ("env", "tag"),
    [
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.4.0"},
            "v1.4.0",
        ),
        ({"GITLAB_CI": "true", "CI_JOB_ID": "1", "CI_COMMIT_TAG": "v1.4.0"}, "v1.4.0"),
        ({"TF_BUILD": "True", "BUILD_SOURCEBRANCH": "refs/tags/v1.4.0"}, "v1.4.0"),
        ({"BITBUCKET_BUILD_NUMBER": "1", "BITBUCKET_TAG": "v1.4.0"}, "v1.4.0"),
        ({"CIRCLECI": "true", "CIRCLE_TAG": "v1.4.0"}, "v1.4.0"),
        ({"JENKINS_URL": "https://j/", "BUILD_NUMBER": "1", "TAG_NAME": "v1.4.0"}, "v1.4.0"),
    ],
)
def test_tag_builds_are_recognised(tmp_path: Path, env: dict[str, str], tag: str) -> None:
    assert detect(env, cwd=str(tmp_path)).tag == tag


def test_outside_ci_git_in_the_working_directory_is_read(tmp_path: Path) -> None:
    sha = make_git_repo(tmp_path, remote="https://user:token@git.example.org/acme/orders.git")
    ctx = detect({}, cwd=str(tmp_path))
    assert ctx.system == "local"
    assert ctx.run_key is None
    assert ctx.actor is None
    assert ctx.git == {
        "repositoryUrl": "https://git.example.org/acme/orders.git",  # credentials removed
        "branch": "main",
        "commitSha": sha,
    }


def test_outside_ci_and_outside_git_nothing_is_invented(tmp_path: Path) -> None:
    ctx = detect({}, cwd=str(tmp_path))
    assert (ctx.system, ctx.run_key, ctx.git) == ("local", None, {})


def test_jenkins_without_git_variables_falls_back_to_git(tmp_path: Path) -> None:
    sha = make_git_repo(tmp_path)
    env = {"JENKINS_URL": "https://j/", "JOB_NAME": "orders", "BUILD_NUMBER": "5"}
    assert detect(env, cwd=str(tmp_path)).git["commitSha"] == sha


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://gitlab-ci-token:abc@gitlab.example.org/a/b.git", "https://gitlab.example.org/a/b.git"),
        ("https://x-access-token@github.com/a/b", "https://github.com/a/b"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("https://github.com/a/b", "https://github.com/a/b"),
        # Any scheme: a token is as secret in an ssh or git+https remote.
        ("ssh://git:tok@git.example.org/a/b.git", "ssh://git.example.org/a/b.git"),
        ("git+https://u:t@git.example.org/a/b.git", "git+https://git.example.org/a/b.git"),
        ("git+ssh://deploy:secret@host:2222/a/b", "git+ssh://host:2222/a/b"),
    ],
)  # fmt: skip
def test_credentials_are_stripped_from_repository_urls(url: str, clean: str) -> None:
    assert strip_credentials(url) == clean


def test_an_overlong_pipeline_id_is_shortened_stably() -> None:
    key = "github/" + "a" * 300
    value = pipeline_id("orders", key)
    assert len(value) <= 255
    assert value == pipeline_id("orders", key)
    assert value.startswith("orders/github/")


def test_a_token_in_an_ssh_remote_is_not_reported(tmp_path: Path) -> None:
    make_git_repo(tmp_path, remote="ssh://git:tok@git.example.org/acme/orders.git")
    ctx = detect({}, cwd=str(tmp_path))
    assert ctx.git["repositoryUrl"] == "ssh://git.example.org/acme/orders.git"
