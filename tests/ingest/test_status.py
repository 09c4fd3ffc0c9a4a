"""Build statuses through the webhook (ci-events.md §3), including LOST and the
completeness rule per component kind; every result type of §2.2 and ``digest``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from extci.builds import result_types
from extci.builds.models import Build
from extci.clock import utcnow
from extci.db import unit_of_work
from tests.ingest.conftest import MakeApi, build_detail, history, stored_results
from tests.ingest.items import DIGEST, item
from tests.support import events as ev
from tests.support.api import Api
from tests.support.fake_clock import FakeClock
from tests.support.problems import pointers, problem

APP = "application-component"
LIB = "library"


def run(api: Api, kind: str, types: list[str], end: str = "SUCCESSFUL") -> tuple[int, str]:
    """A whole run with one result event per item; returns (end status code, buildStatus)."""
    api.component("comp", kind)
    key = api.key("comp")
    r = api.send(ev.start("p1", "comp"), key)
    assert r.status_code == 200, r.text
    for t in types:
        r = api.send(ev.result("p1", item(t)), key)
        assert r.status_code == 200, r.text
        assert r.json()["buildStatus"] == "BUILDING"
    r = api.send(ev.end("p1", end), key)
    assert r.status_code == 200, r.text
    status = r.json()["buildStatus"]
    assert build_detail(api, "comp", "p1")["status"] == status
    return r.status_code, status


def test_start_opens_a_building_build(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    r = api.send(ev.start("p1", "comp"), key)
    assert r.json()["buildStatus"] == "BUILDING"
    detail = build_detail(api, "comp", "p1")
    assert detail["status"] == "BUILDING"
    assert detail["buildVersion"] == "1.4.0"
    assert [b["pipelineId"] for b in history(api, "comp")] == ["p1"]


@pytest.mark.parametrize(
    ("kind", "types"),
    [
        (APP, ["container", "helm", "git-revision"]),
        (APP, ["git-tag", "helm", "container"]),
        (APP, ["container", "helm", "git-revision", "git-tag", "code-quality", "link"]),
        (LIB, ["git-revision", "maven"]),
        (LIB, ["git-revision", "npm"]),
        (LIB, ["git-revision", "nuget"]),
        (LIB, ["git-tag", "maven"]),
        (LIB, ["git-tag", "npm"]),
        (LIB, ["nuget", "git-tag"]),
    ],
)
def test_complete_successful_end_is_successful(api: Api, kind: str, types: list[str]) -> None:
    assert run(api, kind, types) == (200, "SUCCESSFUL")
    assert build_detail(api, "comp", "p1")["missingResults"] == []


@pytest.mark.parametrize(
    ("kind", "types", "missing"),
    [
        (APP, ["helm", "git-revision"], "container"),
        (APP, ["container", "git-tag"], "helm"),
        (APP, ["container", "helm"], "git-revision"),
        (APP, ["container", "helm", "code-quality", "link", "maven"], "git-tag"),
        (APP, [], "helm"),
        (LIB, ["git-revision"], "maven"),
        (LIB, ["git-tag", "code-quality"], "npm"),
        (LIB, ["maven", "npm", "nuget"], "git-revision"),
        (LIB, ["container", "helm", "link"], "nuget"),
    ],
)
def test_successful_end_missing_a_required_result_is_incomplete(
    api: Api, kind: str, types: list[str], missing: str
) -> None:
    assert run(api, kind, types) == (200, "INCOMPLETE")
    listed = " ".join(build_detail(api, "comp", "p1")["missingResults"])
    assert missing in listed
    for present in types:
        if present in ("container", "helm"):
            assert present not in listed


def test_results_of_several_events_count_together(api: Api) -> None:
    api.component("comp")
    key = api.key("comp")
    api.send(ev.start("p1", "comp"), key)
    api.send(ev.result("p1", ev.git_revision()), key)
    api.send(ev.result("p1", ev.artifact("container"), ev.link()), key)
    api.send(ev.result("p1", ev.artifact("helm")), key)
    assert api.send(ev.end("p1"), key).json()["buildStatus"] == "SUCCESSFUL"


@pytest.mark.parametrize("kind", [APP, LIB])
@pytest.mark.parametrize("types", [[], ["container", "helm", "git-revision", "maven"]])
@pytest.mark.parametrize(("end", "expected"), [("FAILED", "FAILED"), ("CANCELED", "CANCELLED")])
def test_failed_and_canceled_are_not_checked(
    api: Api, kind: str, types: list[str], end: str, expected: str
) -> None:
    assert run(api, kind, types, end) == (200, expected)


# ---- every result type (§2.2) and digest -----------------------------------------------

ALL_TYPES = list(result_types.NAMES)
REQUIRED_FIELDS = {t.name: [f.wire for f in t.fields if f.required] for t in result_types.TYPES}


@pytest.fixture
def running(api: Api) -> str:
    api.component("comp")
    key = api.key("comp")
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    return key


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_each_result_type_is_stored_with_its_fields(api: Api, running: str, kind: str) -> None:
    sent = item(kind)
    r = api.send(ev.result("p1", sent), running)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False
    detail = build_detail(api, "comp", "p1")
    expected = {k: v for k, v in sent.items() if k != "version"}
    assert stored_results(detail) == [expected]


@pytest.mark.parametrize(
    ("kind", "field"), [(k, f) for k, fields in REQUIRED_FIELDS.items() for f in fields]
)
def test_each_result_field_is_required(api: Api, running: str, kind: str, field: str) -> None:
    broken = item(kind)
    del broken[field]
    r = api.send(ev.result("p1", ev.git_tag(), broken), running)
    assert f"/payload/1/{field}" in pointers(problem(r, 400))
    assert stored_results(build_detail(api, "comp", "p1")) == []


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_each_result_item_must_be_version_v1(api: Api, running: str, kind: str) -> None:
    for version in ("v2", "V1", "1", None):
        broken = {**item(kind), "version": version}
        r = api.send(ev.result("p1", broken), running)
        assert pointers(problem(r, 400)) == ["/payload/0/version"]
    missing = item(kind)
    del missing["version"]
    r = api.send(ev.result("p1", missing), running)
    assert pointers(problem(r, 400)) == ["/payload/0/version"]


@pytest.mark.parametrize("kind", ["container", "helm"])
def test_digest_on_container_and_helm_is_stored(api: Api, running: str, kind: str) -> None:
    sent = {**item(kind), "digest": DIGEST}
    assert api.send(ev.result("p1", sent), running).status_code == 200
    [stored] = stored_results(build_detail(api, "comp", "p1"))
    assert stored["digest"] == DIGEST
    assert stored["artifactVersion"] == "1.4.0"


@pytest.mark.parametrize("kind", ["container", "helm"])
@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "ab12" * 15,
        "sha256:" + "ab12" * 17,
        "sha256:" + "AB12" * 16,
        "sha512:" + "ab12" * 16,
        "ab12" * 16,
        "sha256:" + "g" * 64,
        "",
        42,
    ],
)
def test_malformed_digest_is_refused(api: Api, running: str, kind: str, digest: Any) -> None:
    sent = {**item(kind), "digest": digest}
    assert pointers(problem(api.send(ev.result("p1", sent), running), 400)) == ["/payload/0/digest"]


@pytest.mark.parametrize("kind", ["container", "helm"])
def test_digest_is_optional(api: Api, running: str, kind: str) -> None:
    for sent in (item(kind), {**item(kind), "digest": None}):
        assert api.send(ev.result("p1", sent), running).status_code == 200
    [stored] = stored_results(build_detail(api, "comp", "p1"))
    assert "digest" not in stored


def test_same_artifact_with_a_digest_is_another_result(api: Api, running: str) -> None:
    api.send(ev.result("p1", ev.artifact("container")), running)
    api.send(ev.result("p1", {**ev.artifact("container"), "digest": DIGEST}), running)
    assert len(stored_results(build_detail(api, "comp", "p1"))) == 2


# ---- LOST [extci] ------------------------------------------------------------------------


def age(api: Api, pipeline_id: str, by: timedelta) -> None:
    """Pretend the build's last event happened ``by`` ago."""
    with unit_of_work(api.runtime.sessions, write=True) as session:
        session.execute(
            update(Build)
            .where(Build.pipeline_id == pipeline_id)
            .values(last_event_at=utcnow() - by)
        )


def test_default_inactivity_timeout_is_24_hours(api: Api, running: str) -> None:
    age(api, "p1", timedelta(hours=23, minutes=50))
    assert build_detail(api, "comp", "p1")["status"] == "BUILDING"
    age(api, "p1", timedelta(hours=24, minutes=10))
    assert build_detail(api, "comp", "p1")["status"] == "LOST"
    assert [b["pipelineId"] for b in history(api, "comp", status="LOST")] == ["p1"]
    assert history(api, "comp", status="BUILDING") == []


def test_inactivity_timeout_is_configurable(make_api: MakeApi) -> None:
    clock = FakeClock()
    api = make_api(build_inactivity_timeout="10m", clock=clock)
    api.component("comp")
    key = api.key("comp")
    api.send(ev.start("p1", "comp"), key)
    clock.advance(timedelta(minutes=10))
    assert build_detail(api, "comp", "p1")["status"] == "BUILDING"
    clock.advance(timedelta(seconds=1))
    assert build_detail(api, "comp", "p1")["status"] == "LOST"
    # A retried start reports what the build looks like now.
    r = api.send(ev.start("p1", "comp"), key)
    assert r.json() == {**r.json(), "duplicate": True, "buildStatus": "LOST"}


def test_ended_builds_are_never_lost(api: Api, running: str) -> None:
    api.send(ev.end("p1", "FAILED"), running)
    age(api, "p1", timedelta(days=3))
    assert build_detail(api, "comp", "p1")["status"] == "FAILED"


@pytest.mark.parametrize(
    ("results", "end", "expected"),
    [
        (True, "SUCCESSFUL", "SUCCESSFUL"),
        (False, "SUCCESSFUL", "INCOMPLETE"),
        (True, "FAILED", "FAILED"),
        (False, "CANCELED", "CANCELLED"),
    ],
)
def test_lost_build_takes_the_status_its_late_end_gives(
    api: Api, running: str, results: bool, end: str, expected: str
) -> None:
    if results:
        api.send(ev.result("p1", *ev.deployable()), running)
    age(api, "p1", timedelta(days=2))
    assert build_detail(api, "comp", "p1")["status"] == "LOST"
    r = api.send(ev.end("p1", end), running)
    assert r.status_code == 200, r.text
    assert r.json()["buildStatus"] == expected
    assert r.json()["duplicate"] is False
    assert build_detail(api, "comp", "p1")["status"] == expected


def test_a_late_result_wakes_a_lost_build(api: Api, running: str) -> None:
    age(api, "p1", timedelta(days=2))
    assert build_detail(api, "comp", "p1")["status"] == "LOST"
    r = api.send(ev.result("p1", ev.git_tag()), running)
    assert r.status_code == 200, r.text
    assert build_detail(api, "comp", "p1")["status"] == "BUILDING"
