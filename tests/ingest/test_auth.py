"""Authentication and authorisation of webhook requests (ci-events.md §1, §5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from extci import security
from extci.clock import utcnow
from extci.db import unit_of_work
from extci.keys.models import CIKey
from tests.ingest.conftest import build_detail, history
from tests.support import events as ev
from tests.support import factories
from tests.support.api import Api
from tests.support.events import HEADERS
from tests.support.problems import problem


def new_key(api: Api, component_id: str = "comp") -> tuple[int, str]:
    return factories.make_key(api.runtime.sessions, api.secret, component_id)


def unauthorised(api: Api, key: str | None, **kw: Any) -> dict[str, Any]:
    r = api.send(ev.start("p1", "comp"), key, **kw)
    return problem(r, 401)


def test_every_refused_key_gets_one_identical_401(api: Api) -> None:
    api.component("comp")
    editor = api.token("editor")
    good_id, good = new_key(api)
    assert api.send(ev.start("p0", "comp"), good).status_code == 200

    suspended_id, suspended = new_key(api)
    r = api.client.post(f"/api/v1/components/comp/ci-keys/{suspended_id}/suspend", headers=editor)
    assert r.status_code == 200, r.text

    deleted_id, deleted = new_key(api)
    r = api.client.delete(f"/api/v1/components/comp/ci-keys/{deleted_id}", headers=editor)
    assert r.status_code == 204, r.text

    expired_id, expired = new_key(api)
    with unit_of_work(api.runtime.sessions, write=True) as session:
        session.execute(
            update(CIKey)
            .where(CIKey.id == expired_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    unknown = security.generate_token(security.CI_KEY_PREFIX)
    bad_checksum = good[:-1] + ("A" if good[-1] != "A" else "B")
    bodies = {
        "missing": unauthorised(api, None),
        "empty": unauthorised(api, ""),
        "malformed": unauthorised(api, "not-a-key"),
        "wrong-prefix": unauthorised(api, "extci_pat_" + good.removeprefix("extci_ci_")),
        "bad-checksum": unauthorised(api, bad_checksum),
        "truncated": unauthorised(api, good[:-3]),
        "padded": unauthorised(api, good + "x"),
        "unknown": unauthorised(api, unknown),
        "suspended": unauthorised(api, suspended),
        "expired": unauthorised(api, expired),
        "deleted": unauthorised(api, deleted),
    }
    first = bodies["missing"]
    assert all(body == first for body in bodies.values()), bodies
    assert [b["pipelineId"] for b in history(api, "comp")] == ["p0"]
    assert good_id != suspended_id


def test_refused_keys_refuse_every_event_kind(api: Api) -> None:
    api.component("comp")
    good = api.key("comp")
    api.send(ev.start("p1", "comp"), good)
    key_id, suspended = new_key(api)
    api.client.post(
        f"/api/v1/components/comp/ci-keys/{key_id}/suspend", headers=api.token("editor")
    )
    problem(api.send(ev.result("p1", ev.git_tag()), suspended), 401)
    problem(api.send(ev.end("p1"), suspended), 401)
    assert build_detail(api, "comp", "p1")["status"] == "BUILDING"


def test_a_resumed_key_works_again(api: Api) -> None:
    api.component("comp")
    editor = api.token("editor")
    key_id, key = new_key(api)
    api.client.post(f"/api/v1/components/comp/ci-keys/{key_id}/suspend", headers=editor)
    unauthorised(api, key)
    api.client.post(f"/api/v1/components/comp/ci-keys/{key_id}/resume", headers=editor)
    assert api.send(ev.start("p1", "comp"), key).status_code == 200


def test_a_key_whose_expiry_lies_ahead_works(api: Api) -> None:
    api.component("comp")
    key = api.key("comp", expires_at=utcnow() + timedelta(hours=1))
    assert api.send(ev.start("p1", "comp"), key).status_code == 200


@pytest.mark.parametrize("name", ["X-Codenow-Api-Key", "x-codenow-api-key", "apiKey", "key"])
def test_a_key_in_the_query_string_is_never_accepted(api: Api, name: str) -> None:
    api.component("comp")
    key = api.key("comp")
    r = api.client.post(
        "/ci/webhook", params={name: key}, json=ev.start("p1", "comp"), headers=HEADERS
    )
    problem(r, 401)
    assert history(api, "comp") == []


def test_a_bearer_token_is_not_a_ci_key(api: Api) -> None:
    api.component("comp")
    unauthorised(api, None, headers=api.token("admin"))


def test_the_header_name_is_case_insensitive(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    r = api.send(ev.start("p1", "comp"), None, headers={"x-codenow-api-key": key})
    assert r.status_code == 200, r.text


def test_401_comes_before_any_look_at_the_body(api: Api) -> None:
    problem(api.send(b"not json at all", None), 401)
    problem(api.send(b"x" * 300_000, None), 401)


# ---- 403 ---------------------------------------------------------------------------------------


@pytest.fixture
def two(api: Api) -> tuple[str, str]:
    api.component("comp-a")
    api.component("comp-b")
    return api.key("comp-a"), api.key("comp-b")


def test_start_for_another_component_is_403(api: Api, two: tuple[str, str]) -> None:
    key_a, _ = two
    problem(api.send(ev.start("p1", "comp-b"), key_a), 403)
    assert history(api, "comp-b") == []
    assert history(api, "comp-a") == []


@pytest.mark.parametrize(
    "event", [ev.result("p1", ev.git_tag()), ev.end("p1")], ids=["result", "end"]
)
def test_result_or_end_for_another_components_pipeline_is_404(
    api: Api, two: tuple[str, str], event: dict[str, Any]
) -> None:
    """Result and end events are looked up in the key's own component (ci-events.md §5):
    another component's run is unknown to this key, which can neither touch nor end it."""
    key_a, key_b = two
    assert api.send(ev.start("p1", "comp-a"), key_a).status_code == 200
    problem(api.send(event, key_b), 404)
    detail = build_detail(api, "comp-a", "p1")
    assert detail["status"] == "BUILDING"
    assert detail["results"] == []
    assert len(detail["events"]) == 1


def test_a_key_for_an_ended_build_of_another_component_is_404(
    api: Api, two: tuple[str, str]
) -> None:
    key_a, key_b = two
    api.send(ev.start("p1", "comp-a"), key_a)
    api.send(ev.end("p1", "FAILED"), key_a)
    problem(api.send(ev.end("p1", "FAILED"), key_b), 404)


def test_the_same_pipeline_id_in_two_components_is_two_builds(
    api: Api, two: tuple[str, str]
) -> None:
    """A pipelineId is unique within its component: comp-a's key starting the id that
    comp-b's pipeline will use (the reporter's ids are predictable) squats nothing."""
    key_a, key_b = two
    assert api.send(ev.start("comp-b/jenkins/orders/101", "comp-a"), key_a).status_code == 200
    r = api.send(ev.start("comp-b/jenkins/orders/101", "comp-b"), key_b)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False
    assert api.send(ev.result("comp-b/jenkins/orders/101", ev.git_tag()), key_b).status_code == 200
    r = api.send(ev.end("comp-b/jenkins/orders/101", "FAILED"), key_a)
    assert r.json()["buildStatus"] == "FAILED"
    b = build_detail(api, "comp-b", "comp-b/jenkins/orders/101")
    assert (b["status"], [x["type"] for x in b["results"]]) == ("BUILDING", ["git-tag"])
    a = build_detail(api, "comp-a", "comp-b/jenkins/orders/101")
    assert (a["status"], a["results"]) == ("FAILED", [])


# ---- 404 and 409 ----------------------------------------------------------------------------


def test_start_for_a_component_that_does_not_exist_is_404(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    problem(api.send(ev.start("p1", "ghost"), key), 404)


def test_start_for_a_deleted_component_is_refused(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    r = api.client.delete("/api/v1/components/comp", headers=api.token("admin"))
    assert r.status_code == 204, r.text
    # Deleting the component deletes its keys: the key is no longer valid.
    problem(api.send(ev.start("p1", "comp"), key), 401)


def switch_to_platform(api: Api, component_id: str) -> None:
    r = api.client.put(
        f"/api/v1/components/{component_id}/ci-mode",
        json={"mode": "platform"},
        headers=api.token("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["ciMode"] == "platform"


def test_component_not_in_external_ci_is_409_saying_so(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    switch_to_platform(api, "comp")
    body = problem(api.send(ev.start("p1", "comp"), key), 409)
    assert "External CI" in body["detail"]
    assert history(api, "comp") == []


@pytest.mark.parametrize(
    "event", [ev.result("p1", ev.git_tag()), ev.end("p1")], ids=["result", "end"]
)
def test_result_or_end_after_switching_away_from_external_ci_is_409(
    api: Api, event: dict[str, Any]
) -> None:
    api.component("comp")
    key = api.key("comp")
    api.send(ev.start("p1", "comp"), key)
    switch_to_platform(api, "comp")
    body = problem(api.send(event, key), 409)
    assert "External CI" in body["detail"]
    assert build_detail(api, "comp", "p1")["results"] == []
    assert build_detail(api, "comp", "p1")["status"] == "BUILDING"
