"""The deployable query and the build-health figures (docs/delivery.md), on SQLite and
PostgreSQL through the ASGI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import problem

BASE = "/api/v1/components/orders-service"
DIGEST = "sha256:" + "ab" * 32
CHART_DIGEST = "sha256:" + "cd" * 32


@pytest.fixture
def key(api: Api) -> str:
    api.component("orders-service")
    return api.key("orders-service")


def run(
    api: Api,
    key: str,
    pid: str,
    version: str,
    *,
    branch: str = "main",
    outcome: str = "SUCCESSFUL",
    items: list[dict[str, Any]] | None = None,
    at: datetime | None = None,
    seconds: int = 60,
) -> None:
    """A whole pipeline run: start, one result event, end."""
    times = {}
    if at is not None:
        times = {"createdAt": at.isoformat()}
    payload = items if items is not None else [ev.git_revision(branch), *_artifacts(version)]
    answers = [
        api.send(ev.start(pid, "orders-service", version, **times), key),
        api.send(ev.result(pid, *payload), key) if payload else None,
    ]
    end = ev.end(pid, outcome)
    if at is not None:
        end["createdAt"] = (at + timedelta(seconds=seconds)).isoformat()
    answers.append(api.send(end, key))
    for r in answers:
        assert r is None or r.status_code == 200, r.text


def _artifacts(version: str) -> list[dict[str, Any]]:
    container = ev.artifact("container", version=version) | {"digest": DIGEST}
    helm = ev.artifact("helm", version=version) | {
        "repositoryUrl": "oci://registry.example.org/charts",
        "digest": CHART_DIGEST,
    }
    return [container, helm]


Get = Callable[..., Any]


@pytest.fixture
def get(api: Api) -> Get:
    """GET a path under the component as a viewer."""
    headers = api.token("viewer", "v")

    def _get(path: str, **params: str) -> Any:
        return api.client.get(f"{BASE}{path}", params=params, headers=headers)

    return _get


def test_nothing_deployable_is_a_404_problem_that_says_why(api: Api, key: str, get: Get) -> None:
    run(api, key, "incomplete", "1.0.0", items=[ev.git_revision()])  # no container, no helm
    run(api, key, "failed", "1.0.1", outcome="FAILED")
    body = problem(get("/deployable"), 404)
    assert "no deployable build" in body["detail"]
    assert "INCOMPLETE" in body["detail"]
    body = problem(get("/deployable", branch="main", version="2."), 404)
    assert "on branch 'main' with a version starting '2.'" in body["detail"]
    problem(api.client.get("/api/v1/components/nope/deployable", headers=api.token()), 404)
    problem(api.client.get(f"{BASE}/deployable"), 401)


def test_the_newest_successful_build_with_its_coordinates(api: Api, key: str, get: Get) -> None:
    run(api, key, "r1", "1.4.0")
    tagged = [ev.git_revision(sha="c0ffee"), ev.git_tag("v1.4.1"), *_artifacts("1.4.1")]
    run(api, key, "r2", "1.4.1", items=tagged)
    run(api, key, "r3", "1.4.2", outcome="FAILED")  # newer, but not deployable
    run(api, key, "r4", "1.4.3", items=[ev.git_revision()])  # INCOMPLETE: no image, chart
    r = get("/deployable")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pipelineId"] == "r2"
    assert body["buildVersion"] == "1.4.1"
    assert body["status"] == "SUCCESSFUL"
    assert body["kind"] == "application-component"
    assert body["git"] == {
        "repositoryUrl": "https://git.example.org/orders.git",
        "branch": "main",
        "commitSha": "c0ffee",
        "tag": "v1.4.1",
    }
    assert body["image"] == {
        "repository": "registry.example.org/team/orders-service",
        "tag": "1.4.1",
        "digest": DIGEST,
        "reference": f"registry.example.org/team/orders-service:1.4.1@{DIGEST}",
    }
    assert body["images"] == [body["image"]]
    assert body["chart"] == {
        "repository": "oci://registry.example.org/charts",
        "name": "orders-service",
        "version": "1.4.1",
        "digest": CHART_DIGEST,
        "reference": "oci://registry.example.org/charts/orders-service",
    }
    assert body["packages"] == []


def test_branch_and_version_filters(api: Api, key: str, get: Get) -> None:
    run(api, key, "m140", "1.4.0")
    run(api, key, "m141", "1.4.1")
    run(api, key, "f150", "1.5.0", branch="feature/x")
    run(api, key, "m1400", "1.40.0")
    run(api, key, "m150", "1.5.0")

    def pick(**params: str) -> str:
        r = get("/deployable", **params)
        assert r.status_code == 200, (params, r.text)
        return str(r.json()["pipelineId"])

    assert pick() == "m150"
    assert pick(branch="feature/x") == "f150"
    assert pick(branch="main", version="1.4.") == "m141"  # 1.40.0 does not start with "1.4."
    assert pick(version="1.4.0") == "m140"
    assert pick(version="1.5.0") == "m150"
    assert pick(branch="feature/x", version="1.5.0") == "f150"
    assert pick(version="1.") == "m150"
    problem(get("/deployable", version="1.4"), 404)  # exact: there is no "1.4"
    problem(get("/deployable", branch="Main"), 404)  # branches are case-sensitive
    problem(get("/deployable", version="1.4.%"), 404)  # no wildcards
    assert "/branch" in str(problem(get("/deployable", branch=" "), 400))


def test_a_library_offers_its_packages(api: Api) -> None:
    api.component("orders-lib", "library")
    key = api.key("orders-lib")
    pid = "lib-1"
    maven = ev.artifact("maven", "org.example:orders-lib", "2.0.0")
    for event in (
        ev.start(pid, "orders-lib", "2.0.0"),
        ev.result(pid, ev.git_tag("v2.0.0"), maven, ev.artifact("npm", "@example/orders")),
        ev.end(pid),
    ):
        assert api.send(event, key).status_code == 200
    r = api.client.get("/api/v1/components/orders-lib/deployable", headers=api.token())
    body = r.json()
    assert body["kind"] == "library"
    assert body["image"] is None
    assert body["chart"] is None
    assert body["git"] == {"repositoryUrl": None, "branch": None, "commitSha": None,
                           "tag": "v2.0.0"}  # fmt: skip
    assert body["packages"] == [
        {"type": "maven", "repository": "registry.example.org/team",
         "name": "org.example:orders-lib", "version": "2.0.0"},
        {"type": "npm", "repository": "registry.example.org/team",
         "name": "@example/orders", "version": "1.4.0"},
    ]  # fmt: skip


def test_stats_count_success_rate_durations_and_recovery(api: Api, key: str, get: Get) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    # 20 days ago: green, then red for two builds, then green again 2 hours after the first red.
    run(api, key, "old-1", "1.0.0", at=now - 20 * day, seconds=100)
    run(api, key, "old-2", "1.0.1", at=now - 20 * day + timedelta(hours=1), outcome="FAILED",
        seconds=50)  # fmt: skip
    run(api, key, "old-3", "1.0.2", at=now - 20 * day + timedelta(hours=2), outcome="FAILED",
        seconds=50)  # fmt: skip
    run(api, key, "old-4", "1.0.3", at=now - 20 * day + timedelta(hours=3) - timedelta(seconds=200),
        seconds=200)  # fmt: skip
    # This week: green, cancelled, green, then a failure not yet repaired.
    run(api, key, "new-1", "1.1.0", at=now - 2 * day, seconds=300)
    run(api, key, "new-2", "1.1.1", at=now - 2 * day + timedelta(hours=1), outcome="CANCELED")
    run(api, key, "new-3", "1.1.2", at=now - day, seconds=500)
    run(api, key, "new-4", "1.1.3", at=now - timedelta(hours=1), outcome="FAILED", seconds=30)
    r = get("/stats")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [b["pipelineId"] for b in body["recent"]] == [
        "old-1", "old-2", "old-3", "old-4", "new-1", "new-2", "new-3", "new-4"
    ]  # fmt: skip
    assert body["recent"][0]["durationSeconds"] == 100
    assert body["recent"][-1]["status"] == "FAILED"
    week, month = body["windows"]
    assert week == {
        "days": 7, "builds": 4, "successful": 2, "failed": 1, "cancelled": 1,
        "successRate": pytest.approx(2 / 3), "medianDurationSeconds": 300, "truncated": False,
    }  # fmt: skip
    assert month["builds"] == 8
    assert month["successful"] == 4
    assert month["failed"] == 3
    assert month["successRate"] == pytest.approx(4 / 7)
    assert month["medianDurationSeconds"] == 100  # 30 50 50 100 200 300 500
    recovery = body["recovery"]
    assert recovery["count"] == 1
    assert recovery["medianSeconds"] == 2 * 3600 - 50  # end of old-2 to end of old-4
    assert recovery["lastSeconds"] == recovery["medianSeconds"]
    failing_since = datetime.fromisoformat(recovery["failingSince"])
    assert failing_since == now - timedelta(hours=1) + timedelta(seconds=30)
    assert body["sampleSize"] == 8


def test_stats_of_a_component_without_builds(api: Api, key: str, get: Get) -> None:
    body = get("/stats").json()
    assert body["recent"] == []
    assert body["windows"][0]["successRate"] is None
    assert body["recovery"] == {"days": 30, "count": 0, "medianSeconds": None,
                                "lastSeconds": None, "failingSince": None}  # fmt: skip
    problem(api.client.get("/api/v1/components/nope/stats", headers=api.token()), 404)


def test_the_openapi_document_describes_both_operations(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    deployable = paths["/api/v1/components/{component_id}/deployable"]["get"]
    assert {p["name"] for p in deployable["parameters"]} >= {"component_id", "branch", "version"}
    missing = deployable["responses"]["404"]
    assert "no SUCCESSFUL build" in missing["description"]
    assert "application/problem+json" in missing["content"]
    ok = deployable["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/DeployableOut"}
    stats = paths["/api/v1/components/{component_id}/stats"]["get"]
    assert stats["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StatsOut"
    }
