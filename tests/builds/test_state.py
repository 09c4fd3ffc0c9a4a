"""The build state machine as tables (ci-events.md §3), pure: no database, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extci.builds import state

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


def test_canceled_maps_to_cancelled_with_two_ls() -> None:
    assert state.CANCELLED == "CANCELLED"
    assert state.END_RESULTS == {
        "SUCCESSFUL": "SUCCESSFUL",
        "FAILED": "FAILED",
        "CANCELED": "CANCELLED",
    }


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


def test_lost_is_a_status_but_never_stored() -> None:
    assert state.LOST in state.STATUSES
    assert state.LOST not in state.STORED_STATUSES
    assert set(state.STATUSES) == {
        "BUILDING",
        "SUCCESSFUL",
        "INCOMPLETE",
        "FAILED",
        "CANCELLED",
        "LOST",
    }
