"""Wire events as a CI would send them (ci-events.md §2)."""

from __future__ import annotations

from typing import Any

V1 = "application/vnd.codenow.v1+json"
HEADERS = {"Content-Type": V1, "Accept": V1}


def start(
    pipeline_id: str, component_id: str, version: str = "1.4.0", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "codenow.ci.start.event",
        "version": V1,
        "pipelineId": pipeline_id,
        "componentId": component_id,
        "buildVersion": version,
        "actor": {"username": "jdoe", "fullname": "Jane Doe"},
        "dashboardUrl": "https://ci.example.org/job/orders/1842/",
        **extra,
    }


def result(pipeline_id: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "codenow.ci.result.event",
        "version": V1,
        "pipelineId": pipeline_id,
        "payload": list(items),
    }


def end(pipeline_id: str, outcome: str = "SUCCESSFUL") -> dict[str, Any]:
    return {
        "type": "codenow.ci.end.event",
        "version": V1,
        "pipelineId": pipeline_id,
        "result": outcome,
    }


def git_revision(branch: str = "main", sha: str = "9f2c1e7a5b") -> dict[str, Any]:
    return {
        "type": "git-revision",
        "version": "v1",
        "repositoryUrl": "https://git.example.org/orders.git",
        "branch": branch,
        "commitSha": sha,
    }


def artifact(kind: str, path: str = "orders-service", version: str = "1.4.0") -> dict[str, Any]:
    return {
        "type": kind,
        "version": "v1",
        "repositoryUrl": "registry.example.org/team",
        "artifactPath": path,
        "artifactVersion": version,
    }


def git_tag(tag: str = "v1.4.0") -> dict[str, Any]:
    return {"type": "git-tag", "version": "v1", "tag": tag}


def link(name: str = "report", url: str = "https://ci.example.org/report") -> dict[str, Any]:
    return {"type": "link", "version": "v1", "name": name, "url": url}


def code_quality(url: str = "https://sonar.example.org/p/orders") -> dict[str, Any]:
    return {"type": "code-quality", "version": "v1", "system": "SonarQube", "url": url}


def deployable() -> list[dict[str, Any]]:
    """The results an application component needs to be SUCCESSFUL."""
    return [git_revision(), artifact("container"), artifact("helm")]
