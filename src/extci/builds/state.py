"""The build state machine as data. Pure: imports nothing of the project.

Statuses and transitions, the end result each end event maps to, and the completeness rule
per component kind are tables; the functions below only read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

BUILDING = "BUILDING"
SUCCESSFUL = "SUCCESSFUL"
INCOMPLETE = "INCOMPLETE"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
LOST = "LOST"  # derived at read time, never stored

STORED_STATUSES = (BUILDING, SUCCESSFUL, INCOMPLETE, FAILED, CANCELLED)
STATUSES = (*STORED_STATUSES, LOST)
OPEN_STATUSES = frozenset({BUILDING})

# What an end event's `result` turns a build into (before the completeness check).
END_RESULTS = {"SUCCESSFUL": SUCCESSFUL, "FAILED": FAILED, "CANCELED": CANCELLED}

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    BUILDING: frozenset({SUCCESSFUL, INCOMPLETE, FAILED, CANCELLED}),
    SUCCESSFUL: frozenset(),
    INCOMPLETE: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class Requirement:
    """Satisfied when the build has at least one result of any of ``any_of``."""

    any_of: tuple[str, ...]

    @property
    def label(self) -> str:
        return " or ".join(self.any_of)

    def satisfied_by(self, result_types: frozenset[str]) -> bool:
        return not result_types.isdisjoint(self.any_of)


GIT = Requirement(("git-revision", "git-tag"))
REQUIRED_RESULTS: dict[str, tuple[Requirement, ...]] = {
    "application-component": (Requirement(("container",)), Requirement(("helm",)), GIT),
    "library": (GIT, Requirement(("maven", "npm", "nuget"))),
}


def requirements(kind: str) -> tuple[Requirement, ...]:
    return REQUIRED_RESULTS[kind]


def missing_results(kind: str, result_types: Iterable[str]) -> list[str]:
    present = frozenset(result_types)
    return [r.label for r in requirements(kind) if not r.satisfied_by(present)]


class IllegalTransition(Exception):
    """A change of status that :data:`ALLOWED_TRANSITIONS` does not allow (a bug of the
    caller's, or a race its checks missed): raised, never asserted, so ``python -O`` keeps
    the rule."""

    def __init__(self, current: str, new: str) -> None:
        super().__init__(f"a build cannot go from {current} to {new}")
        self.current = current
        self.new = new


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(current, frozenset())


def check_transition(current: str, new: str) -> None:
    """Raise :class:`IllegalTransition` unless a build may go from ``current`` to ``new``."""
    if not can_transition(current, new):
        raise IllegalTransition(current, new)


def status_after_end(end_result: str, kind: str, result_types: Iterable[str]) -> str:
    """Only a SUCCESSFUL end is checked for completeness."""
    status = END_RESULTS[end_result]
    if status == SUCCESSFUL and missing_results(kind, result_types):
        return INCOMPLETE
    return status


def is_lost(status: str, last_event_at: datetime, now: datetime, timeout: timedelta) -> bool:
    return status == BUILDING and now - last_event_at > timeout


def visible_status(status: str, last_event_at: datetime, now: datetime, timeout: timedelta) -> str:
    return LOST if is_lost(status, last_event_at, now, timeout) else status
