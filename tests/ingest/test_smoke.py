"""The whole deployable run of ci-events.md §9, through HTTP, on each database."""

from __future__ import annotations

from tests.support import events as ev
from tests.support.api import Api


def test_deployable_run_is_successful(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    r = api.send(ev.start("orders-1842", "orders-service"), key)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "pipelineId": "orders-1842",
        "componentId": "orders-service",
        "buildStatus": "BUILDING",
        "duplicate": False,
    }
    assert r.headers["x-ratelimit-limit"] == "100"
    assert r.headers["x-ratelimit-remaining"] == "99"
    assert api.send(ev.result("orders-1842", *ev.deployable()), key).status_code == 200
    r = api.send(ev.end("orders-1842"), key)
    assert r.json()["buildStatus"] == "SUCCESSFUL"

    detail = api.client.get(
        "/api/v1/components/orders-service/builds/orders-1842", headers=api.token("viewer")
    ).json()
    assert detail["status"] == "SUCCESSFUL"
    assert detail["missingResults"] == []
    assert [e["type"] for e in detail["events"]] == [
        "codenow.ci.start.event",
        "codenow.ci.result.event",
        "codenow.ci.end.event",
    ]
    assert detail["gitRevision"]["branch"] == "main"


def test_missing_helm_is_incomplete(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    api.send(ev.start("p1", "orders-service"), key)
    api.send(ev.result("p1", ev.git_revision(), ev.artifact("container")), key)
    assert api.send(ev.end("p1"), key).json()["buildStatus"] == "INCOMPLETE"
    detail = api.client.get(
        "/api/v1/components/orders-service/builds/p1", headers=api.token()
    ).json()
    assert detail["missingResults"] == ["helm"]
