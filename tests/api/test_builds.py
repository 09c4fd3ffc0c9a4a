"""Build history and build detail (management.md §2)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from urllib.parse import quote

import pytest

from extci.builds import result_types
from extci.builds.result_types import Need
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import problem

HISTORY = "/api/v1/components/orders-service/builds"
DETAIL_FIELDS = {
    "resultsNextCursor",  # results come a page at a time (EXTCI_MAX_RESULTS_PER_BUILD)
    "componentId",
    "pipelineId",
    "buildVersion",
    "status",
    "pipelineName",
    "dashboardUrl",
    "actor",
    "startedAt",
    "endedAt",
    "durationSeconds",
    "lastEventAt",
    "endResult",
    "gitRevision",
    "results",
    "requiredResults",
    "missingResults",
    "events",
}


@pytest.fixture
def key(api: Api) -> str:
    api.component("orders-service")
    return api.key("orders-service")


def start(api: Api, key: str, pid: str, version: str = "1.0.0") -> None:
    r = api.send(ev.start(pid, "orders-service", version), key)
    assert r.status_code == 200, r.text


def page(api: Api, h: dict[str, str], **params: str) -> dict:  # type: ignore[type-arg]
    r = api.client.get(HISTORY, params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_history_is_newest_first_and_pages_return_each_build_once(api: Api, key: str) -> None:
    h = api.token("viewer")
    sent = [f"run-{i}" for i in range(8)]
    for pid in sent:
        start(api, key, pid)
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        body = page(api, h, **params)
        sizes.append(len(body["items"]))
        seen += [b["pipelineId"] for b in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 2]
    assert seen == list(reversed(sent))


def test_cursor_is_stable_when_builds_arrive_between_pages(api: Api, key: str) -> None:
    h = api.token("viewer")
    for pid in ("a", "b", "c", "d"):
        start(api, key, pid)
    first = page(api, h, limit="2")
    assert [b["pipelineId"] for b in first["items"]] == ["d", "c"]
    start(api, key, "e")  # newer than everything already listed
    second = page(api, h, limit="2", cursor=first["nextCursor"])
    assert [b["pipelineId"] for b in second["items"]] == ["b", "a"]


def test_last_full_page_may_end_with_null_cursor(api: Api, key: str) -> None:
    h = api.token("viewer")
    for pid in ("a", "b"):
        start(api, key, pid)
    body = page(api, h, limit="2")
    assert [b["pipelineId"] for b in body["items"]] == ["b", "a"]
    if body["nextCursor"] is not None:  # allowed: an empty last page, then null
        last = page(api, h, limit="2", cursor=body["nextCursor"])
        assert last == {"items": [], "nextCursor": None}
    assert page(api, h)["nextCursor"] is None


def test_default_limit_is_50(api: Api, key: str) -> None:
    h = api.token("viewer")
    for i in range(51):
        start(api, key, f"p{i}")
    body = page(api, h)
    assert len(body["items"]) == 50
    assert body["items"][0]["pipelineId"] == "p50"
    assert body["nextCursor"] is not None
    rest = page(api, h, cursor=body["nextCursor"])
    assert [b["pipelineId"] for b in rest["items"]] == ["p0"]
    assert rest["nextCursor"] is None


@pytest.mark.parametrize("params", [{"limit": "201"}, {"limit": "0"}, {"cursor": "garbage!"}])
def test_bad_limit_or_cursor_is_400(api: Api, key: str, params: dict[str, str]) -> None:
    problem(api.client.get(HISTORY, params=params, headers=api.token("viewer")), 400)


def test_forged_cursor_is_400(api: Api, key: str) -> None:
    h = api.token("viewer")
    forged = base64.urlsafe_b64encode(json.dumps(["x", "y", "z"]).encode()).decode()
    problem(api.client.get(HISTORY, params={"cursor": forged}, headers=h), 400)
    assert page(api, h, limit="200")["items"] == []


def test_filters_status_branch_version(api: Api, key: str) -> None:
    h = api.token("viewer")
    start(api, key, "ok-main", "1.0.0")
    api.send(ev.result("ok-main", ev.git_revision("main"), ev.artifact("container")), key)
    api.send(ev.result("ok-main", ev.artifact("helm")), key)
    api.send(ev.end("ok-main"), key)
    start(api, key, "fail-dev", "1.1.0")
    api.send(ev.result("fail-dev", ev.git_revision("dev", "abc123")), key)
    api.send(ev.end("fail-dev", "FAILED"), key)
    start(api, key, "running", "1.1.0")
    start(api, key, "incomplete", "2.0.0")
    api.send(ev.end("incomplete"), key)

    def pids(**params: str) -> list[str]:
        return [b["pipelineId"] for b in page(api, h, **params)["items"]]

    assert pids() == ["incomplete", "running", "fail-dev", "ok-main"]
    assert pids(status="SUCCESSFUL") == ["ok-main"]
    assert pids(status="FAILED") == ["fail-dev"]
    assert pids(status="BUILDING") == ["running"]
    assert pids(status="INCOMPLETE") == ["incomplete"]
    assert pids(status="CANCELLED") == []
    assert pids(branch="dev") == ["fail-dev"]
    assert pids(branch="main") == ["ok-main"]
    assert pids(version="1.1.0") == ["running", "fail-dev"]
    assert pids(version="1.1.0", status="BUILDING") == ["running"]
    assert pids(version="9.9.9") == []
    # filters and pages combine
    body = page(api, h, version="1.1.0", limit="1")
    assert [b["pipelineId"] for b in body["items"]] == ["running"]
    nxt = page(api, h, version="1.1.0", limit="1", cursor=body["nextCursor"])
    assert [b["pipelineId"] for b in nxt["items"]] == ["fail-dev"]


def test_history_of_unknown_component_is_404(api: Api) -> None:
    problem(api.client.get("/api/v1/components/nope/builds", headers=api.token("viewer")), 404)


def test_history_only_holds_this_components_builds(api: Api, key: str) -> None:
    api.component("billing")
    other = api.key("billing")
    api.send(ev.start("billing-1", "billing"), other)
    start(api, key, "orders-1")
    assert [b["pipelineId"] for b in page(api, api.token("viewer"))["items"]] == ["orders-1"]


def test_detail_document_of_a_finished_build(api: Api, key: str) -> None:
    start_event = ev.start(
        "orders-1842",
        "orders-service",
        "1.4.0",
        pipelineName="orders/main",
        createdAt="2026-01-05T10:00:00Z",
    )
    assert api.send(start_event, key).status_code == 200
    items = [*ev.deployable(), ev.link()]
    assert api.send(ev.result("orders-1842", *items), key).status_code == 200
    assert api.send(ev.end("orders-1842"), key).status_code == 200

    r = api.client.get(f"{HISTORY}/orders-1842", headers=api.token("viewer"))
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == DETAIL_FIELDS
    assert d["componentId"] == "orders-service"
    assert d["pipelineId"] == "orders-1842"
    assert d["buildVersion"] == "1.4.0"
    assert d["status"] == "SUCCESSFUL"
    assert d["pipelineName"] == "orders/main"
    assert d["dashboardUrl"] == "https://ci.example.org/job/orders/1842/"
    assert d["actor"] == {"username": "jdoe", "fullname": "Jane Doe"}
    started, ended = datetime.fromisoformat(d["startedAt"]), datetime.fromisoformat(d["endedAt"])
    assert started <= ended
    assert d["durationSeconds"] == pytest.approx((ended - started).total_seconds(), abs=1e-3)
    assert datetime.fromisoformat(d["lastEventAt"]) >= ended
    assert d["endResult"] == "SUCCESSFUL"
    assert d["gitRevision"] == {
        "repositoryUrl": "https://git.example.org/orders.git",
        "branch": "main",
        "commitSha": "9f2c1e7a5b",
    }
    assert [x["type"] for x in d["results"]] == ["git-revision", "container", "helm", "link"]
    for res in d["results"]:
        assert {"type", "receivedAt"} <= set(res)
        # UTC with a "Z", like every other time in the API
        assert res["receivedAt"].endswith("Z"), res
        received = datetime.fromisoformat(res["receivedAt"])
        assert started <= received <= datetime.fromisoformat(d["lastEventAt"])
    times = [d["startedAt"], d["endedAt"], d["lastEventAt"]]
    times += [e[k] for e in d["events"] for k in ("createdAt", "receivedAt")]
    assert all(t.endswith("Z") for t in times), times
    container = d["results"][1]
    assert container["artifactPath"] == "orders-service"
    assert container["artifactVersion"] == "1.4.0"
    assert container["repositoryUrl"] == "registry.example.org/team"
    assert d["results"][3]["url"] == "https://ci.example.org/report"
    assert d["requiredResults"] == [
        {"requirement": "container", "satisfied": True},
        {"requirement": "helm", "satisfied": True},
        {"requirement": "git-revision or git-tag", "satisfied": True},
    ]
    assert d["missingResults"] == []
    assert [e["type"] for e in d["events"]] == [
        "codenow.ci.start.event",
        "codenow.ci.result.event",
        "codenow.ci.end.event",
    ]
    for e in d["events"]:
        assert {"type", "createdAt", "receivedAt"} <= set(e)
    assert datetime.fromisoformat(d["events"][0]["createdAt"]) == datetime.fromisoformat(
        "2026-01-05T10:00:00+00:00"
    )
    # no createdAt sent: the receive time stands in (ci-events.md §2)
    assert d["events"][1]["createdAt"] == d["events"][1]["receivedAt"]
    assert started == datetime.fromisoformat("2026-01-05T10:00:00+00:00")


def test_detail_of_a_running_build_has_nulls(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    bare = ev.start("p1", "orders-service")
    del bare["actor"], bare["dashboardUrl"]
    assert api.send(bare, key).status_code == 200
    d = api.client.get(f"{HISTORY}/p1", headers=api.token("viewer")).json()
    assert set(d) == DETAIL_FIELDS
    assert d["status"] == "BUILDING"
    assert d["actor"] is None
    assert d["dashboardUrl"] is None
    assert d["pipelineName"] is None
    assert d["endedAt"] is None
    assert d["durationSeconds"] is None
    assert d["endResult"] is None
    assert d["gitRevision"] is None
    assert d["results"] == []
    assert d["missingResults"] == ["container", "helm", "git-revision or git-tag"]
    assert all(r["satisfied"] is False for r in d["requiredResults"])


def test_detail_of_incomplete_library_lists_missing(api: Api) -> None:
    api.component("lib", "library")
    key = api.key("lib")
    api.send(ev.start("lib-1", "lib"), key)
    api.send(ev.result("lib-1", ev.git_tag()), key)
    assert api.send(ev.end("lib-1"), key).json()["buildStatus"] == "INCOMPLETE"
    d = api.client.get("/api/v1/components/lib/builds/lib-1", headers=api.token()).json()
    assert d["status"] == "INCOMPLETE"
    assert d["endResult"] == "SUCCESSFUL"
    assert d["gitRevision"] is None
    # a library needs a package: any of the registry's package types will do
    assert d["missingResults"] == [" or ".join(result_types.meeting(Need.PACKAGE))]
    assert "maven or npm or nuget" in d["missingResults"][0]


@pytest.mark.parametrize(
    "pid", ["folder/job/42", "a/b", "team/orders#7", "with space", "q?x=1&y=2", "100%"]
)
def test_pipeline_id_with_reserved_characters_routes_when_percent_encoded(
    api: Api, key: str, pid: str
) -> None:
    assert api.send(ev.start(pid, "orders-service"), key).status_code == 200
    r = api.client.get(f"{HISTORY}/{quote(pid, safe='')}", headers=api.token("viewer"))
    assert r.status_code == 200, r.text
    assert r.json()["pipelineId"] == pid
    listed = page(api, api.token("viewer", "v2"))["items"]
    assert [b["pipelineId"] for b in listed] == [pid]


def test_detail_unknown_or_of_another_component_is_404(api: Api, key: str) -> None:
    api.component("billing")
    api.send(ev.start("billing-1", "billing"), api.key("billing"))
    h = api.token("viewer")
    problem(api.client.get(f"{HISTORY}/nope", headers=h), 404)
    problem(api.client.get(f"{HISTORY}/billing-1", headers=h), 404)
    assert api.client.get("/api/v1/components/billing/builds/billing-1", headers=h).is_success
