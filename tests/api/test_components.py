"""Components: list, create, read, rename, delete, CI mode (management.md §1, §2)."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from extci.builds.models import Build, BuildEvent, BuildResult
from extci.keys.models import CIKey
from tests.api.helpers import items
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import pointers, problem

BASE = "/api/v1/components"


def create(
    api: Api, headers: dict[str, str], cid: str, name: str | None = None, kind: str = "library"
) -> httpx.Response:
    body = {"id": cid, "kind": kind}
    if name is not None:
        body["name"] = name
    return api.client.post(BASE, json=body, headers=headers)


def ids(api: Api, headers: dict[str, str], **params: str) -> list[str]:
    r = api.client.get(BASE, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def test_create_returns_201_and_the_component(api: Api) -> None:
    r = create(api, api.token("editor"), "orders-service", "Orders", "application-component")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == "orders-service"
    assert body["name"] == "Orders"
    assert body["kind"] == "application-component"
    assert body["ciMode"] == "platform"
    assert body["platformBuilds"] is True


def test_create_duplicate_id_is_409(api: Api) -> None:
    h = api.token("editor")
    assert create(api, h, "orders").status_code == 201
    problem(create(api, h, "orders", "Other"), 409)


def test_create_unknown_kind_is_400(api: Api) -> None:
    r = api.client.post(BASE, json={"id": "x", "kind": "service"}, headers=api.token("editor"))
    assert "/kind" in pointers(problem(r, 400))


@pytest.mark.parametrize(
    "cid",
    ["Orders", "orders_service", "-orders", "orders-", "", "a" * 64, "ordérs", "orders service"],
)
def test_invalid_ids_are_400_pointing_at_id(api: Api, cid: str) -> None:
    body = problem(create(api, api.token("editor"), cid), 400)
    assert pointers(body) == ["/id"]
    assert ids(api, api.token("viewer")) == []


@pytest.mark.parametrize("cid", ["a", "7", "a-1", "orders--v2", "a" * 63, "0abc9"])
def test_valid_ids_are_accepted(api: Api, cid: str) -> None:
    r = create(api, api.token("editor"), cid)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == cid


def test_list_newest_first_with_filters(api: Api) -> None:
    h = api.token("editor")
    create(api, h, "alpha-lib", "Alpha library", "library")
    create(api, h, "billing", "Payments", "application-component")
    create(api, h, "catalog", "Catalog", "application-component")
    api.client.put(f"{BASE}/billing/ci-mode", json={"mode": "external"}, headers=h)

    r = api.client.get(BASE, headers=h)
    assert r.json()["nextCursor"] is None
    assert ids(api, h) == ["catalog", "billing", "alpha-lib"]
    assert ids(api, h, kind="library") == ["alpha-lib"]
    assert ids(api, h, kind="application-component") == ["catalog", "billing"]
    assert ids(api, h, ciMode="external") == ["billing"]
    assert ids(api, h, ciMode="platform") == ["catalog", "alpha-lib"]
    assert ids(api, h, ciMode="external", kind="library") == []
    # q: id or name contains
    assert ids(api, h, q="talo") == ["catalog"]
    assert ids(api, h, q="Payments") == ["billing"]
    assert ids(api, h, q="ymen") == ["billing"]
    assert ids(api, h, q="a") == ["catalog", "billing", "alpha-lib"]
    assert ids(api, h, q="zzz") == []
    # LIKE wildcards are literal text
    assert ids(api, h, q="%") == []
    assert ids(api, h, q="_") == []


def test_list_pagination_returns_each_component_once(api: Api) -> None:
    h = api.token("editor")
    created = [f"comp-{i:02d}" for i in range(7)]
    for cid in created:
        assert create(api, h, cid).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        body = api.client.get(BASE, params=params, headers=h).json()
        assert len(body["items"]) <= 3
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))


def test_list_rejects_bad_limit_and_cursor(api: Api) -> None:
    h = api.token("viewer")
    problem(api.client.get(BASE, params={"limit": "201"}, headers=h), 400)
    problem(api.client.get(BASE, params={"limit": "0"}, headers=h), 400)
    problem(api.client.get(BASE, params={"cursor": "not-a-cursor"}, headers=h), 400)
    assert api.client.get(BASE, params={"limit": "200"}, headers=h).status_code == 200


def test_get_component_with_ci_mode_platform_builds_and_latest_build(api: Api) -> None:
    h = api.token("viewer")
    api.component("orders-service", external=False)
    body = api.client.get(f"{BASE}/orders-service", headers=h).json()
    assert body["ciMode"] == "platform"
    assert body["platformBuilds"] is True
    assert body["latestBuild"] is None

    api.client.put(
        f"{BASE}/orders-service/ci-mode", json={"mode": "external"}, headers=api.token("editor")
    )
    key = api.key("orders-service")
    assert api.send(ev.start("p-1", "orders-service", "1.0.0"), key).status_code == 200
    assert api.send(ev.start("p-2", "orders-service", "1.1.0"), key).status_code == 200
    body = api.client.get(f"{BASE}/orders-service", headers=h).json()
    assert body["ciMode"] == "external"
    assert body["platformBuilds"] is False
    assert body["latestBuild"]["pipelineId"] == "p-2"
    assert body["latestBuild"]["buildVersion"] == "1.1.0"
    assert body["latestBuild"]["status"] == "BUILDING"
    # the list shows the same latest build
    listed = api.client.get(BASE, headers=h).json()["items"][0]
    assert listed["latestBuild"]["pipelineId"] == "p-2"


def test_get_unknown_component_is_404(api: Api) -> None:
    problem(api.client.get(f"{BASE}/nope", headers=api.token("viewer")), 404)


def test_patch_changes_name_only(api: Api) -> None:
    h = api.token("editor")
    create(api, h, "orders", "Orders", "application-component")
    r = api.client.patch(f"{BASE}/orders", json={"name": "Order Service"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Order Service"
    again = api.client.get(f"{BASE}/orders", headers=h).json()
    assert again["name"] == "Order Service"
    assert again["id"] == "orders"
    assert again["kind"] == "application-component"
    problem(api.client.patch(f"{BASE}/nope", json={"name": "X"}, headers=h), 404)
    problem(api.client.patch(f"{BASE}/orders", json={"name": ""}, headers=h), 400)


def test_delete_takes_keys_and_history_with_it(api: Api) -> None:
    admin, viewer = api.token("admin"), api.token("viewer")
    api.component("orders-service")
    api.component("other")
    key = api.key("orders-service")
    other_key = api.key("other")
    api.send(ev.start("p1", "orders-service"), key)
    api.send(ev.result("p1", *ev.deployable()), key)
    api.send(ev.end("p1"), key)
    api.send(ev.start("p-other", "other"), other_key)

    r = api.client.delete(f"{BASE}/orders-service", headers=admin)
    assert r.status_code == 204
    assert r.content == b""
    problem(api.client.get(f"{BASE}/orders-service", headers=viewer), 404)
    problem(api.client.delete(f"{BASE}/orders-service", headers=admin), 404)

    with api.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CIKey)) == 1
        assert s.scalar(select(func.count()).select_from(Build)) == 1
        assert s.scalar(select(func.count()).select_from(BuildResult)) == 0
        assert s.scalar(select(func.count()).select_from(BuildEvent)) == 1
    # the deleted key no longer authenticates; the other component is untouched
    problem(api.send(ev.start("p2", "orders-service"), key), 401)
    assert api.send(ev.end("p-other"), other_key).status_code == 200

    # the same id can be created again, with an empty history; the pipelineId is free again
    api.component("orders-service")
    assert api.client.get(f"{BASE}/orders-service/builds", headers=viewer).json()["items"] == []
    new_key = api.key("orders-service")
    assert api.send(ev.start("p1", "orders-service"), new_key).json()["duplicate"] is False


def test_ci_mode_switch_keeps_keys_unusable_until_external_again(api: Api) -> None:
    h = api.token("editor")
    create(api, h, "orders-service", "Orders", "application-component")
    r = api.client.put(f"{BASE}/orders-service/ci-mode", json={"mode": "external"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["ciMode"] == "external"
    assert r.json()["platformBuilds"] is False
    key = api.client.post(f"{BASE}/orders-service/ci-keys", json={"name": "ci"}, headers=h).json()

    r = api.client.put(f"{BASE}/orders-service/ci-mode", json={"mode": "platform"}, headers=h)
    assert r.json()["ciMode"] == "platform"
    assert r.json()["platformBuilds"] is True
    listed = items(api.client.get(f"{BASE}/orders-service/ci-keys", headers=h))
    assert [k["id"] for k in listed] == [key["id"]]
    problem(api.send(ev.start("p1", "orders-service"), key["key"]), 409)

    api.client.put(f"{BASE}/orders-service/ci-mode", json={"mode": "external"}, headers=h)
    r = api.send(ev.start("p1", "orders-service"), key["key"])
    assert r.status_code == 200, r.text
    assert r.json()["buildStatus"] == "BUILDING"


def test_ci_mode_is_idempotent_and_validated(api: Api) -> None:
    h = api.token("editor")
    api.component("orders-service", external=False)
    url = f"{BASE}/orders-service/ci-mode"
    assert api.client.put(url, json={"mode": "platform"}, headers=h).json()["ciMode"] == "platform"
    assert "/mode" in pointers(
        problem(api.client.put(url, json={"mode": "jenkins"}, headers=h), 400)
    )
    problem(api.client.put(f"{BASE}/nope/ci-mode", json={"mode": "external"}, headers=h), 404)
