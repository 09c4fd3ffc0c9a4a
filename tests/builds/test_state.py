"""The build state machine (ci-events.md §3): as tables, pure; then what the stored row and
the API make of CANCELED and LOST, through real HTTP on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from extci.app import create_app
from extci.builds import state
from extci.builds.state import BuildStatus
from extci.config import Settings
from extci.db import unit_of_work
from tests.support import events as ev
from tests.support.api import Api
from tests.support.fake_clock import FakeClock
from tests.support.problems import pointers, problem

APP = "application-component"
LIB = "library"
GIT = ("git-revision", "git-tag")
PACKAGES = ("maven", "npm", "nuget")
OTHERS = ("code-quality", "link")

# (kind, result types present, status after a SUCCESSFUL end)
COMPLETENESS = [
    (APP, {"container", "helm", "git-revision"}, BuildStatus.SUCCESSFUL),
    (APP, {"container", "helm", "git-tag"}, BuildStatus.SUCCESSFUL),
    (APP, {"container", "helm", "git-revision", "git-tag", *OTHERS}, BuildStatus.SUCCESSFUL),
    (APP, {"container", "helm"}, BuildStatus.INCOMPLETE),
    (APP, {"container", "git-revision"}, BuildStatus.INCOMPLETE),
    (APP, {"helm", "git-tag"}, BuildStatus.INCOMPLETE),
    (APP, {"container", "helm", *OTHERS}, BuildStatus.INCOMPLETE),
    (APP, {"container", "helm", "maven"}, BuildStatus.INCOMPLETE),
    (APP, {"git-revision", "maven", "npm", "nuget"}, BuildStatus.INCOMPLETE),
    (APP, set(), BuildStatus.INCOMPLETE),
    *[(LIB, {g, p}, BuildStatus.SUCCESSFUL) for g in GIT for p in PACKAGES],
    (LIB, {*GIT, *PACKAGES, *OTHERS}, BuildStatus.SUCCESSFUL),
    (LIB, {"git-revision"}, BuildStatus.INCOMPLETE),
    (LIB, {"git-tag", *OTHERS}, BuildStatus.INCOMPLETE),
    *[(LIB, {p}, BuildStatus.INCOMPLETE) for p in PACKAGES],
    (LIB, {"container", "helm"}, BuildStatus.INCOMPLETE),
    (LIB, {"container", "helm", "git-revision"}, BuildStatus.INCOMPLETE),
    (LIB, set(), BuildStatus.INCOMPLETE),
]


@pytest.mark.parametrize(("kind", "present", "expected"), COMPLETENESS)
def test_successful_end_checks_completeness(kind: str, present: set[str], expected: str) -> None:
    assert state.status_after_end("SUCCESSFUL", kind, present) == expected
    assert bool(state.missing_results(kind, present)) == (expected == BuildStatus.INCOMPLETE)


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
    ("end", "expected"), [("FAILED", BuildStatus.FAILED), ("CANCELED", BuildStatus.CANCELLED)]
)
def test_failed_and_canceled_are_never_checked(
    kind: str, present: set[str], end: str, expected: str
) -> None:
    assert state.status_after_end(end, kind, present) == expected


FINAL = [BuildStatus.SUCCESSFUL, BuildStatus.INCOMPLETE, BuildStatus.FAILED, BuildStatus.CANCELLED]
TRANSITIONS = [
    *[(BuildStatus.BUILDING, s, True) for s in FINAL],
    (BuildStatus.BUILDING, BuildStatus.BUILDING, False),
    *[(a, b, False) for a in FINAL for b in [*FINAL, BuildStatus.BUILDING]],
]


@pytest.mark.parametrize(("current", "new", "allowed"), TRANSITIONS)
def test_transitions(current: str, new: str, allowed: bool) -> None:
    assert state.can_transition(current, new) is allowed
    if allowed:
        state.check_transition(current, new)
    else:  # a domain error, not an assert: python -O keeps it
        with pytest.raises(state.IllegalTransition) as raised:
            state.check_transition(current, new)
        assert (raised.value.current, raised.value.new) == (current, new)


def test_every_end_outcome_is_reachable_from_building() -> None:
    for end in state.END_RESULTS:
        for kind in (APP, LIB):
            for present in (set(), {"container", "helm", "git-tag", "npm"}):
                new = state.status_after_end(end, kind, present)
                assert state.can_transition(BuildStatus.BUILDING, new)


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
LOSS = [
    (BuildStatus.BUILDING, NOW, DAY, BuildStatus.BUILDING),
    (BuildStatus.BUILDING, NOW - timedelta(hours=23, minutes=59), DAY, BuildStatus.BUILDING),
    # exactly the timeout since the last event: not yet LOST (LOST is strictly older)
    (BuildStatus.BUILDING, NOW - DAY, DAY, BuildStatus.BUILDING),
    (BuildStatus.BUILDING, NOW - DAY - timedelta(microseconds=1), DAY, BuildStatus.LOST),
    (BuildStatus.BUILDING, NOW - DAY - timedelta(seconds=1), DAY, BuildStatus.LOST),
    (BuildStatus.BUILDING, NOW - timedelta(days=30), DAY, BuildStatus.LOST),
    (BuildStatus.BUILDING, NOW - timedelta(seconds=2), timedelta(seconds=1), BuildStatus.LOST),
    (
        BuildStatus.BUILDING,
        NOW - timedelta(milliseconds=500),
        timedelta(seconds=1),
        BuildStatus.BUILDING,
    ),
    *[(s, NOW - timedelta(days=30), DAY, s) for s in FINAL],
]


@pytest.mark.parametrize(("stored", "last_event_at", "inactivity_timeout", "visible"), LOSS)
def test_lost_is_derived_from_inactivity(
    stored: str, last_event_at: datetime, inactivity_timeout: timedelta, visible: str
) -> None:
    as_of = state.AsOf(NOW, inactivity_timeout)
    assert as_of.visible_status(stored, last_event_at) == visible
    lost = visible == BuildStatus.LOST
    assert as_of.is_lost(stored, last_event_at) is lost


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


TIMEOUT = timedelta(hours=24)  # the default EXTCI_BUILD_INACTIVITY_TIMEOUT


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_api(settings: Settings, clock: FakeClock) -> Iterator[Api]:
    """The app on a clock the test advances: silence lasts as long as the test says."""
    app = create_app(settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, app.state.runtime)
    app.state.runtime.close()


def test_a_silent_build_is_shown_lost_but_stored_building(
    clocked_api: Api, clock: FakeClock
) -> None:
    api = clocked_api
    api.component("orders-service")
    key = api.key("orders-service")
    h = api.token("viewer")
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    assert api.send(ev.start("p2", "orders-service"), key).status_code == 200
    clock.advance(TIMEOUT)
    detail = api.client.get(f"{COMPONENT}/builds/p1", headers=h).json()
    assert detail["status"] == "BUILDING"  # silent for exactly the timeout: not yet LOST
    clock.advance(timedelta(seconds=1))
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
