"""Ordering and retries (ci-events.md §4): every row of the table, each checked for its
answer and for what it leaves in the build."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ingest.conftest import MakeApi, build_detail, history, stored_results
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import problem


@pytest.fixture
def key(api: Api) -> str:
    api.component("comp")
    return api.key("comp")


def started(api: Api, key: str, pipeline_id: str = "p1") -> None:
    r = api.send(ev.start(pipeline_id, "comp"), key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False


# ---- start -------------------------------------------------------------------------------


def test_repeated_start_is_a_duplicate_and_changes_nothing(api: Api, key: str) -> None:
    started(api, key)
    before = build_detail(api, "comp", "p1")
    r = api.send(ev.start("p1", "comp"), key)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "pipelineId": "p1",
        "componentId": "comp",
        "buildStatus": "BUILDING",
        "duplicate": True,
    }
    assert build_detail(api, "comp", "p1") == before
    assert len(history(api, "comp")) == 1


@pytest.mark.parametrize(
    "retry",
    [
        ev.start("p1", "comp", createdAt="2030-01-01T00:00:00Z"),
        ev.start("p1", "comp", createdAt=None),
        ev.start("p1", "comp", somethingNew={"x": 1}),
    ],
    ids=["other-createdAt", "null-createdAt", "unknown-property"],
)
def test_start_retry_ignores_created_at_and_unknown_properties(
    api: Api, key: str, retry: dict[str, Any]
) -> None:
    api.send(ev.start("p1", "comp", createdAt="2026-01-01T10:00:00+02:00"), key)
    r = api.send(retry, key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert len(build_detail(api, "comp", "p1")["events"]) == 1


def test_start_retry_with_properties_in_another_order_is_a_duplicate(api: Api, key: str) -> None:
    started(api, key)
    reordered = dict(reversed(list(ev.start("p1", "comp").items())))
    r = api.send(json.dumps(reordered, indent=2).encode(), key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True


@pytest.mark.parametrize(
    "changed",
    [
        {"buildVersion": "1.4.1"},
        {"actor": {"username": "someone-else", "fullname": "Jane Doe"}},
        {"actor": {"username": "jdoe", "fullname": "Jane Q. Doe"}},
        {"actor": None},
        {"dashboardUrl": "https://ci.example.org/job/orders/1843/"},
        {"pipelineName": "nightly"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_start_reusing_a_pipeline_id_with_other_content_is_409(
    api: Api, key: str, changed: dict[str, Any]
) -> None:
    started(api, key)
    before = build_detail(api, "comp", "p1")
    r = api.send({**ev.start("p1", "comp"), **changed}, key)
    problem(r, 409)
    assert build_detail(api, "comp", "p1") == before


def test_another_components_pipeline_id_is_a_build_of_its_own(api: Api, key: str) -> None:
    """pipelineId is unique within its component (ci-events.md §2)."""
    started(api, key)
    before = build_detail(api, "comp", "p1")
    api.component("other")
    other_key = api.key("other")
    r = api.send(ev.start("p1", "other"), other_key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False
    assert [b["pipelineId"] for b in history(api, "other")] == ["p1"]
    assert build_detail(api, "comp", "p1") == before


def test_start_retry_after_the_end_reports_the_final_status(api: Api, key: str) -> None:
    started(api, key)
    api.send(ev.result("p1", *ev.deployable()), key)
    api.send(ev.end("p1"), key)
    r = api.send(ev.start("p1", "comp"), key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert r.json()["buildStatus"] == "SUCCESSFUL"


def test_start_dedupe_survives_a_restart(api: Api, key: str, make_api: MakeApi) -> None:
    started(api, key)
    restarted = make_api()
    r = restarted.send(ev.start("p1", "comp"), key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    problem(restarted.send(ev.start("p1", "comp", "9.9.9"), key), 409)
    assert len(history(restarted, "comp")) == 1


# ---- unknown pipelineId --------------------------------------------------------------------


@pytest.mark.parametrize(
    "event", [ev.result("nope", ev.git_tag()), ev.end("nope")], ids=["result", "end"]
)
def test_result_or_end_for_an_unknown_pipeline_is_404(
    api: Api, key: str, event: dict[str, Any]
) -> None:
    started(api, key)
    problem(api.send(event, key), 404)
    assert history(api, "comp")[0]["status"] == "BUILDING"


def test_result_before_start_is_404_and_start_then_works(api: Api, key: str) -> None:
    problem(api.send(ev.result("p1", ev.git_tag()), key), 404)
    started(api, key)
    assert api.send(ev.result("p1", ev.git_tag()), key).status_code == 200
    assert stored_results(build_detail(api, "comp", "p1")) == [{"type": "git-tag", "tag": "v1.4.0"}]


# ---- result items ----------------------------------------------------------------------------


def test_identical_result_event_twice_stores_each_item_once(api: Api, key: str) -> None:
    started(api, key)
    event = ev.result("p1", *ev.deployable())
    first = api.send(event, key)
    again = api.send(event, key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    detail = build_detail(api, "comp", "p1")
    assert sorted(r["type"] for r in detail["results"]) == ["container", "git-revision", "helm"]
    assert len(detail["events"]) == 2  # start + one result event: the retry left no trace


def test_identical_items_in_one_payload_are_stored_once(api: Api, key: str) -> None:
    started(api, key)
    r = api.send(ev.result("p1", ev.git_tag(), ev.git_tag(), ev.git_tag("v2")), key)
    assert r.status_code == 200, r.text
    assert stored_results(build_detail(api, "comp", "p1")) == [
        {"type": "git-tag", "tag": "v1.4.0"},
        {"type": "git-tag", "tag": "v2"},
    ]


def test_item_identity_ignores_property_order(api: Api, key: str) -> None:
    started(api, key)
    revision = ev.git_revision()
    api.send(ev.result("p1", revision), key)
    reordered = dict(reversed(list(revision.items())))
    assert api.send(ev.result("p1", reordered), key).status_code == 200
    assert len(build_detail(api, "comp", "p1")["results"]) == 1


def test_known_and_new_items_mixed_store_only_the_new(api: Api, key: str) -> None:
    started(api, key)
    api.send(ev.result("p1", ev.git_revision()), key)
    r = api.send(ev.result("p1", ev.git_revision(), ev.git_revision(sha="abcdef1")), key)
    assert r.status_code == 200, r.text
    shas = [r["commitSha"] for r in build_detail(api, "comp", "p1")["results"]]
    assert shas == ["9f2c1e7a5b", "abcdef1"]


def test_items_differing_in_one_field_are_both_stored(api: Api, key: str) -> None:
    started(api, key)
    api.send(ev.result("p1", ev.artifact("npm", version="1.0.0")), key)
    api.send(ev.result("p1", ev.artifact("npm", version="1.0.1")), key)
    api.send(ev.result("p1", ev.artifact("maven", version="1.0.1")), key)
    assert len(build_detail(api, "comp", "p1")["results"]) == 3


@pytest.mark.parametrize("outcome", ["SUCCESSFUL", "FAILED", "CANCELED"])
def test_result_after_the_end_is_409(api: Api, key: str, outcome: str) -> None:
    started(api, key)
    api.send(ev.result("p1", ev.git_tag()), key)
    api.send(ev.end("p1", outcome), key)
    before = build_detail(api, "comp", "p1")
    problem(api.send(ev.result("p1", ev.artifact("helm")), key), 409)
    problem(api.send(ev.result("p1", ev.git_tag(), ev.artifact("helm")), key), 409)
    assert build_detail(api, "comp", "p1") == before


def test_retried_result_event_after_the_end_is_harmless(api: Api, key: str) -> None:
    """[ambiguity] §4 says both "result after end → 409" and "every event is safe to send
    twice"; a byte-identical retry of an event stored before the end is answered 200."""
    started(api, key)
    event = ev.result("p1", *ev.deployable())
    api.send(event, key)
    api.send(ev.end("p1"), key)
    r = api.send(event, key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert r.json()["buildStatus"] == "SUCCESSFUL"
    assert len(build_detail(api, "comp", "p1")["results"]) == 3


# ---- end ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["SUCCESSFUL", "FAILED", "CANCELED"])
def test_identical_end_is_a_duplicate(api: Api, key: str, outcome: str) -> None:
    started(api, key)
    first = api.send(ev.end("p1", outcome), key)
    again = api.send(ev.end("p1", outcome), key)
    assert first.status_code == again.status_code == 200
    assert first.json()["duplicate"] is False
    assert again.json() == {**first.json(), "duplicate": True}
    assert len(build_detail(api, "comp", "p1")["events"]) == 2


def test_identical_end_with_another_created_at_is_a_duplicate(api: Api, key: str) -> None:
    started(api, key)
    api.send({**ev.end("p1", "FAILED"), "createdAt": "2026-01-01T10:00:00Z"}, key)
    r = api.send({**ev.end("p1", "FAILED"), "createdAt": "2026-01-01T10:00:05Z"}, key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SUCCESSFUL", "FAILED"),
        ("SUCCESSFUL", "CANCELED"),
        ("FAILED", "SUCCESSFUL"),
        ("FAILED", "CANCELED"),
        ("CANCELED", "SUCCESSFUL"),
        ("CANCELED", "FAILED"),
    ],
)
def test_end_with_another_result_is_409(api: Api, key: str, first: str, second: str) -> None:
    started(api, key)
    api.send(ev.end("p1", first), key)
    before = build_detail(api, "comp", "p1")
    problem(api.send(ev.end("p1", second), key), 409)
    assert build_detail(api, "comp", "p1") == before


def test_incomplete_build_re_ended_successful_is_a_duplicate(api: Api, key: str) -> None:
    """The stored end is SUCCESSFUL even though the status became INCOMPLETE."""
    started(api, key)
    assert api.send(ev.end("p1"), key).json()["buildStatus"] == "INCOMPLETE"
    r = api.send(ev.end("p1"), key)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert r.json()["buildStatus"] == "INCOMPLETE"
    problem(api.send(ev.end("p1", "FAILED"), key), 409)
