"""The build state machine (ci-events.md §3): as tables, pure; then what the stored row and
the API make of CANCELED and LOST, through real HTTP on both databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from extci.app import create_app
from extci.builds import state
from extci.config import Settings
from extci.db import unit_of_work
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import pointers, problem

APP = "application-component"
LIB = "library"
GIT = ("git-revision", "git-tag")
PACKAGES = ("maven", "npm", "nuget")
OTHERS = ("code-quality", "link")

# (kind, result types present, status after a SUCCESSFUL end)
COMPLETENESS = [
    (APP, {"container", "helm", "git-revision"}, state.SUCCESSFUL),
    (APP, {"container", "helm", "git-tag"}, state.SUCCESSFUL),
    (APP, {"container", "helm", "git-revision", "git-tag", *OTHERS}, state.SUCCESSFUL),
    (APP, {"container", "helm"}, state.INCOMPLETE),
    (APP, {"container", "git-revision"}, state.INCOMPLETE),
    (APP, {"helm", "git-tag"}, state.INCOMPLETE),
    (APP, {"container", "helm", *OTHERS}, state.INCOMPLETE),
    (APP, {"container", "helm", "maven"}, state.INCOMPLETE),
    (APP, {"git-revision", "maven", "npm", "nuget"}, state.INCOMPLETE),
    (APP, set(), state.INCOMPLETE),
    *[(LIB, {g, p}, state.SUCCESSFUL) for g in GIT for p in PACKAGES],
    (LIB, {*GIT, *PACKAGES, *OTHERS}, state.SUCCESSFUL),
    (LIB, {"git-revision"}, state.INCOMPLETE),
    (LIB, {"git-tag", *OTHERS}, state.INCOMPLETE),
    *[(LIB, {p}, state.INCOMPLETE) for p in PACKAGES],
    (LIB, {"container", "helm"}, state.INCOMPLETE),
    (LIB, {"container", "helm", "git-revision"}, state.INCOMPLETE),
    (LIB, set(), state.INCOMPLETE),
]


@pytest.mark.parametrize(("kind", "present", "expected"), COMPLETENESS)
def test_successful_end_checks_completeness(kind: str, present: set[str], expected: str) -> None:
    assert state.status_after_end("SUCCESSFUL", kind, present) == expected
    assert bool(state.missing_results(kind, present)) == (expected == state.INCOMPLETE)


# (kind, present, what must be named missing, what must not be)
MISSING = [
    (APP, {"helm", "git-revision"}, ["container"], ["helm", "git"]),
    (APP, {"container", "git-tag"}, ["helm"], ["container", "git"]),
    (APP, {"container", "helm"}, ["git-revision", "git-tag"], ["container", "helm"]),
    (APP, set(), ["container", "helm", "git-revision"], []),
    (LIB, {"npm"}, ["git-revision", "git-tag"], ["npm", "maven"]),
    (LIB, {"git-tag"}, ["maven", "npm", "nuget"], ["git"]),
]


@pytest.mark.parametrize(("kind", "present", "named", "not_named"), MISSING)
def test_missing_results_name_what_is_missing(
    kind: str, present: set[str], named: list[str], not_named: list[str]
) -> None:
    text = " | ".join(state.missing_results(kind, present))
    for word in named:
        assert word in text
    for word in not_named:
        assert word not in text


@pytest.mark.parametrize("kind", [APP, LIB])
@pytest.mark.parametrize("present", [set(), {"container", "helm", "git-revision", "maven"}])
@pytest.mark.parametrize(
    ("end", "expected"), [("FAILED", state.FAILED), ("CANCELED", state.CANCELLED)]
)
def test_failed_and_canceled_are_never_checked(
    kind: str, present: set[str], end: str, expected: str
) -> None:
    assert state.status_after_end(end, kind, present) == expected


FINAL = [state.SUCCESSFUL, state.INCOMPLETE, state.FAILED, state.CANCELLED]
TRANSITIONS = [
    *[(state.BUILDING, s, True) for s in FINAL],
    (state.BUILDING, state.BUILDING, False),
    *[(a, b, False) for a in FINAL for b in [*FINAL, state.BUILDING]],
]


@pytest.mark.parametrize(("current", "new", "allowed"), TRANSITIONS)
def test_transitions(current: str, new: str, allowed: bool) -> None:
    assert state.can_transition(current, new) is allowed


def test_every_end_outcome_is_reachable_from_building() -> None:
    for end in state.END_RESULTS:
        for kind in (APP, LIB):
            for present in (set(), {"container", "helm", "git-tag", "npm"}):
                new = state.status_after_end(end, kind, present)
                assert state.can_transition(state.BUILDING, new)


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
LOSS = [
    (state.BUILDING, NOW, DAY, state.BUILDING),
    (state.BUILDING, NOW - timedelta(hours=23, minutes=59), DAY, state.BUILDING),
    (state.BUILDING, NOW - DAY - timedelta(seconds=1), DAY, state.LOST),
    (state.BUILDING, NOW - timedelta(days=30), DAY, state.LOST),
    (state.BUILDING, NOW - timedelta(seconds=2), timedelta(seconds=1), state.LOST),
    (state.BUILDING, NOW - timedelta(milliseconds=500), timedelta(seconds=1), state.BUILDING),
    *[(s, NOW - timedelta(days=30), DAY, s) for s in FINAL],
]


@pytest.mark.parametrize(("stored", "last_event_at", "timeout", "visible"), LOSS)
def test_lost_is_derived_from_inactivity(
    stored: str, last_event_at: datetime, timeout: timedelta, visible: str
) -> None:
    assert state.visible_status(stored, last_event_at, NOW, timeout) == visible
    assert state.is_lost(stored, last_event_at, NOW, timeout) is (visible == state.LOST)


# ---- through the API: what is stored, what is shown ------------------------------------

COMPONENT = "/api/v1/components/orders-service"


def stored_status(api: Api, pipeline_id: str) -> str:
    """The ``status`` column itself, read past the ORM."""
    with api.runtime.sessions() as session:
        status: str = session.execute(
            text("SELECT status FROM builds WHERE pipeline_id = :p"), {"p": pipeline_id}
        ).scalar_one()
    return status


def test_a_canceled_end_is_stored_and_shown_as_cancelled(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    h = api.token("viewer")
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    r = api.send(ev.end("p1", "CANCELED"), key)
    assert r.status_code == 200, r.text
    assert r.json()["buildStatus"] == "CANCELLED"

    detail = api.client.get(f"{COMPONENT}/builds/p1", headers=h).json()
    assert (detail["status"], detail["endResult"]) == ("CANCELLED", "CANCELED")
    assert stored_status(api, "p1") == "CANCELLED"
    listed = api.client.get(f"{COMPONENT}/builds", params={"status": "CANCELLED"}, headers=h)
    assert [b["pipelineId"] for b in listed.json()["items"]] == ["p1"]
    # the status filter speaks the status' spelling, not the end event's
    body = problem(
        api.client.get(f"{COMPONENT}/builds", params={"status": "CANCELED"}, headers=h), 400
    )
    assert pointers(body) == ["/status"]


TINY_TIMEOUT = timedelta(seconds=1)  # p2's reads below must fit in it


@pytest.fixture
def quick_api(settings: Settings) -> Iterator[Api]:
    """The app with a build inactivity timeout of one second."""
    app = create_app(settings.model_copy(update={"build_inactivity_timeout": TINY_TIMEOUT}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, app.state.runtime)
    app.state.runtime.close()


def test_a_silent_build_is_shown_lost_but_stored_building(quick_api: Api) -> None:
    api = quick_api
    api.component("orders-service")
    key = api.key("orders-service")
    h = api.token("viewer")
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    assert api.send(ev.start("p2", "orders-service"), key).status_code == 200
    time.sleep(TINY_TIMEOUT.total_seconds() + 0.3)
    assert api.send(ev.result("p2", ev.git_tag()), key).status_code == 200  # p2 speaks again

    detail = api.client.get(f"{COMPONENT}/builds/p1", headers=h).json()
    assert detail["status"] == "LOST"
    assert detail["endedAt"] is None
    assert detail["endResult"] is None
    history = api.client.get(f"{COMPONENT}/builds", headers=h).json()["items"]
    assert {b["pipelineId"]: b["status"] for b in history} == {"p1": "LOST", "p2": "BUILDING"}
    lost = api.client.get(f"{COMPONENT}/builds", params={"status": "LOST"}, headers=h)
    assert [b["pipelineId"] for b in lost.json()["items"]] == ["p1"]
    building = api.client.get(f"{COMPONENT}/builds", params={"status": "BUILDING"}, headers=h)
    assert [b["pipelineId"] for b in building.json()["items"]] == ["p2"]
    # LOST is derived when read: the row still says BUILDING
    assert stored_status(api, "p1") == "BUILDING"
    assert stored_status(api, "p2") == "BUILDING"


def test_the_database_refuses_to_store_lost(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    # a check constraint: only the stored statuses
    with (
        pytest.raises(IntegrityError),
        unit_of_work(api.runtime.sessions, write=True) as session,
    ):
        session.execute(text("UPDATE builds SET status = 'LOST' WHERE pipeline_id = 'p1'"))
    assert stored_status(api, "p1") == "BUILDING"
