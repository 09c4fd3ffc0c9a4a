"""Recognise the CI system from its predefined environment variables.

Each detector reads only variables its system documents. It yields a *run key* that is
unique per run and per attempt and identical in every step of that run, the run's page
(``dashboardUrl``), who started it, and the git revision being built. Outside a known CI
the revision comes from ``git`` in the working directory and the run key from the user.

A run key spans the whole pipeline run, so that every job (stage, step) of one run
reports into one build, whichever job sends the start, the results and the end:

=========  ==========================================  ===================================
system     run key                                      ``EXTCI_RUN_SCOPE=job`` adds
=========  ==========================================  ===================================
GitHub     repository / run id / run attempt            (one run is one build already)
GitLab     pipeline id                                  the job id
Jenkins    job name / build number                      (one build is one build already)
Azure      build id                                     the job id and the job attempt
Bitbucket  repository / build number                    the step uuid
CircleCI   workflow id                                  (one workflow is one build already)
=========  ==========================================  ===================================

A job retried within the same run reports into the same build (docs/ci-setup.md, "Retried
jobs"): while the build is open its events are idempotent; once the run's end was sent
the build is final, and a retry's results or a different end are refused (409). GitHub
re-runs get a new attempt number, hence a new build. ``EXTCI_RUN_SCOPE=job`` keeps the
former one-build-per-job keys for those who want them.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import NamedTuple

Env = Mapping[str, str]
MAX_PIPELINE_ID = 255


# NamedTuple rather than dataclasses: importing dataclasses (inspect, ast) costs more
# start-up time than the reporter's whole start event.
class Actor(NamedTuple):
    username: str
    fullname: str | None = None


class CIContext(NamedTuple):
    """What the environment tells about the current run."""

    system: str  # "github", "gitlab", ... or "local"
    run_key: str | None = None
    dashboard_url: str | None = None
    actor: Actor | None = None
    # git-revision fields that could be found: repositoryUrl, branch, commitSha.
    git: dict[str, str] = {}  # never mutated: a new context is made with _replace
    tag: str | None = None


def _get(env: Env, *names: str) -> str | None:
    """First non-empty value among ``names``."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _strip_prefix(value: str | None, *prefixes: str) -> str | None:
    if value is None:
        return None
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _git(**fields: str | None) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v}


def _actor(username: str | None, fullname: str | None = None) -> Actor | None:
    return Actor(username, fullname) if username else None


def _per_job(env: Env) -> bool:
    return (_get(env, "EXTCI_RUN_SCOPE") or "run").lower() == "job"


def _github(env: Env) -> CIContext:
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    attempt = _get(env, "GITHUB_RUN_ATTEMPT") or "1"
    is_tag = env.get("GITHUB_REF_TYPE") == "tag"
    return CIContext(
        system="github",
        run_key=f"github/{repo}/{run_id}/{attempt}" if repo and run_id else None,
        dashboard_url=f"{server}/{repo}/actions/runs/{run_id}/attempts/{attempt}"
        if repo and run_id
        else None,
        # GITHUB_TRIGGERING_ACTOR is who started this attempt (differs on a re-run).
        actor=_actor(_get(env, "GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR")),
        git=_git(
            repositoryUrl=f"{server}/{repo}" if repo else None,
            # On pull_request events GITHUB_HEAD_REF is the source branch.
            branch=_get(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
            commitSha=_get(env, "GITHUB_SHA"),
        ),
        tag=_get(env, "GITHUB_REF_NAME") if is_tag else None,
    )


def _gitlab(env: Env) -> CIContext:
    pipeline, job = _get(env, "CI_PIPELINE_ID"), _get(env, "CI_JOB_ID")
    key = f"gitlab/{pipeline}" if pipeline else None
    if key and _per_job(env):
        key = f"{key}/{job}" if job else None
    return CIContext(
        system="gitlab",
        run_key=key,
        dashboard_url=_get(env, "CI_PIPELINE_URL", "CI_JOB_URL"),
        actor=_actor(_get(env, "GITLAB_USER_LOGIN"), _get(env, "GITLAB_USER_NAME")),
        git=_git(
            repositoryUrl=_get(env, "CI_PROJECT_URL"),
            branch=_get(env, "CI_COMMIT_REF_NAME"),
            commitSha=_get(env, "CI_COMMIT_SHA"),
        ),
        tag=_get(env, "CI_COMMIT_TAG"),
    )


def _jenkins(env: Env) -> CIContext:
    job, number = _get(env, "JOB_NAME"), _get(env, "BUILD_NUMBER")
    return CIContext(
        system="jenkins",
        run_key=f"jenkins/{job}/{number}" if job and number else None,
        dashboard_url=_get(env, "BUILD_URL"),
        # Jenkins has no built-in variable for the user; the build-user-vars plugin sets
        # BUILD_USER_ID, multibranch pull requests set CHANGE_AUTHOR.
        actor=_actor(
            _get(env, "BUILD_USER_ID", "CHANGE_AUTHOR"),
            _get(env, "BUILD_USER", "CHANGE_AUTHOR_DISPLAY_NAME"),
        ),
        git=_git(
            repositoryUrl=_get(env, "GIT_URL"),
            branch=_get(env, "CHANGE_BRANCH", "BRANCH_NAME", "GIT_LOCAL_BRANCH")
            or _strip_prefix(_get(env, "GIT_BRANCH"), "origin/", "refs/heads/"),
            commitSha=_get(env, "GIT_COMMIT"),
        ),
        tag=_get(env, "TAG_NAME"),
    )


def _azure(env: Env) -> CIContext:
    build_id = _get(env, "BUILD_BUILDID")
    key = f"azure/{build_id}" if build_id else None
    if key and _per_job(env):
        job, attempt = _get(env, "SYSTEM_JOBID"), _get(env, "SYSTEM_JOBATTEMPT") or "1"
        key = "/".join(p for p in (key, job, attempt) if p)
    collection, project = _get(env, "SYSTEM_COLLECTIONURI"), _get(env, "SYSTEM_TEAMPROJECT")
    dashboard = None
    if collection and project and build_id:
        dashboard = (
            f"{collection.rstrip('/')}/{urllib.parse.quote(project)}"
            f"/_build/results?buildId={build_id}"
        )
    source = _get(env, "SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH")
    tag = _strip_prefix(source, "refs/tags/") if source and source.startswith("refs/") else None
    return CIContext(
        system="azure",
        run_key=key,
        dashboard_url=dashboard,
        actor=_actor(
            _get(env, "BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFORID"),
            _get(env, "BUILD_REQUESTEDFOR"),
        ),
        git=_git(
            repositoryUrl=_get(env, "BUILD_REPOSITORY_URI"),
            branch=_strip_prefix(source, "refs/heads/", "refs/tags/"),
            commitSha=_get(env, "BUILD_SOURCEVERSION"),
        ),
        tag=tag if source and source.startswith("refs/tags/") else None,
    )


def _bitbucket(env: Env) -> CIContext:
    repo, number = _get(env, "BITBUCKET_REPO_FULL_NAME"), _get(env, "BITBUCKET_BUILD_NUMBER")
    step = (_get(env, "BITBUCKET_STEP_UUID") or "").strip("{}")
    origin = _get(env, "BITBUCKET_GIT_HTTP_ORIGIN")
    if origin is None and repo:
        origin = f"https://bitbucket.org/{repo}"
    if origin and origin.startswith("http://bitbucket.org/"):
        origin = "https://" + origin[len("http://") :]
    parts = ("bitbucket", repo, number, step if _per_job(env) else None)
    key = "/".join(p for p in parts if p)
    return CIContext(
        system="bitbucket",
        run_key=key if repo and number else None,
        dashboard_url=f"{origin}/pipelines/results/{number}" if origin and number else None,
        # Bitbucket exposes only the triggering user's UUID.
        actor=_actor(_get(env, "BITBUCKET_STEP_TRIGGERER_UUID")),
        git=_git(
            repositoryUrl=origin,
            branch=_get(env, "BITBUCKET_BRANCH", "BITBUCKET_TAG"),
            commitSha=_get(env, "BITBUCKET_COMMIT"),
        ),
        tag=_get(env, "BITBUCKET_TAG"),
    )


def _circleci(env: Env) -> CIContext:
    workflow = _get(env, "CIRCLE_WORKFLOW_ID")
    return CIContext(
        system="circleci",
        run_key=f"circleci/{workflow}" if workflow else None,
        dashboard_url=_get(env, "CIRCLE_BUILD_URL"),
        actor=_actor(_get(env, "CIRCLE_USERNAME")),
        git=_git(
            repositoryUrl=_get(env, "CIRCLE_REPOSITORY_URL"),
            branch=_get(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
            commitSha=_get(env, "CIRCLE_SHA1"),
        ),
        tag=_get(env, "CIRCLE_TAG"),
    )


# (name, is-this-system?, detector), checked in order.
DETECTORS: list[tuple[str, Callable[[Env], bool], Callable[[Env], CIContext]]] = [
    ("github", lambda e: e.get("GITHUB_ACTIONS") == "true", _github),
    # GITLAB_CI is "true" on GitLab and "false" under gitlab-ci-local, which emulates a
    # runner with GitLab's own variables; both are GitLab for the reporter.
    ("gitlab", lambda e: bool(e.get("GITLAB_CI") and e.get("CI_JOB_ID")), _gitlab),
    ("azure", lambda e: e.get("TF_BUILD", "").lower() == "true", _azure),
    ("bitbucket", lambda e: bool(e.get("BITBUCKET_BUILD_NUMBER")), _bitbucket),
    ("circleci", lambda e: e.get("CIRCLECI") == "true", _circleci),
    ("jenkins", lambda e: bool(e.get("JENKINS_URL") and e.get("BUILD_NUMBER")), _jenkins),
]


def strip_credentials(url: str) -> str:
    """Remove ``user:password@`` from a URL of any scheme (``https``, ``ssh``,
    ``git+https``, ...) so a token in a remote never gets reported. The scp-like form
    ``git@host:path`` has no scheme and names a user, not a secret; it is kept."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit(parts._replace(netloc=host))
    return url


def _run_git(cwd: str | None, *args: str) -> str | None:
    import subprocess  # only when the CI did not say: start-up time counts per CI step

    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def local_git(cwd: str | None = None) -> dict[str, str]:
    """git-revision fields read from the repository in ``cwd`` (what could be found)."""
    remote = _run_git(cwd, "config", "--get", "remote.origin.url")
    return _git(
        repositoryUrl=strip_credentials(remote) if remote else None,
        branch=_run_git(cwd, "branch", "--show-current"),
        commitSha=_run_git(cwd, "rev-parse", "HEAD"),
    )


def detect_ci(env: Env) -> CIContext:
    """What the CI's own variables say (no subprocess)."""
    ctx = CIContext(system="local")
    for _name, matches, detector in DETECTORS:
        if matches(env):
            ctx = detector(env)
            break
    if "repositoryUrl" in ctx.git:
        url = strip_credentials(ctx.git["repositoryUrl"])
        ctx = ctx._replace(git={**ctx.git, "repositoryUrl": url})
    return ctx


def with_local_git(ctx: CIContext, cwd: str | None = None) -> CIContext:
    """``ctx`` with what git in ``cwd`` knows filling what the CI left out."""
    if len(ctx.git) >= 3:
        return ctx
    return ctx._replace(git={**local_git(cwd), **ctx.git})


def detect(env: Env, cwd: str | None = None) -> CIContext:
    """The CI context of this process; git in ``cwd`` fills what the CI left out."""
    return with_local_git(detect_ci(env), cwd)


def pipeline_id(component: str, run_key: str) -> str:
    """The pipelineId for ``component`` in this run.

    The component is part of the id because the receiver ties a pipelineId to one
    component: a monorepo run that builds two components must use two ids.
    """
    value = f"{component}/{run_key}"
    if len(value) <= MAX_PIPELINE_ID:
        return value
    import hashlib

    digest = hashlib.sha256(run_key.encode()).hexdigest()[:40]
    return f"{component[:200]}/{run_key.split('/')[0]}/{digest}"
