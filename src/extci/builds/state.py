"""The build state machine as data. Pure: imports only other pure modules (no I/O, no
framework).

Statuses and transitions and the end result each end event maps to are tables; the
completeness rule per component kind is the registry's (builds/result_types.py); the
functions below only read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from extci.builds.result_types import NEEDS, meeting


class BuildStatus(StrEnum):
    BUILDING = "BUILDING"
    SUCCESSFUL = "SUCCESSFUL"
    INCOMPLETE = "INCOMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"  # derived at read time, never stored


STORED_STATUSES = tuple(s for s in BuildStatus if s is not BuildStatus.LOST)
OPEN_STATUSES = frozenset({BuildStatus.BUILDING})

# What an end event's `result` turns a build into (before the completeness check). Both
# spellings are contracts, not a typo: the end event's result is CANCELED with one L, as the
# CodeNOW External CI v1 wire contract spells it (ci-events.md §2.3, also the API's
# endResult, management.md), while the build status is CANCELLED with two, as the
# contract's build API spells it (ci-events.md §3).
END_RESULTS = {
    "SUCCESSFUL": BuildStatus.SUCCESSFUL,
    "FAILED": BuildStatus.FAILED,
    "CANCELED": BuildStatus.CANCELLED,
}

ALLOWED_TRANSITIONS: dict[str, frozenset[BuildStatus]] = {
    BuildStatus.BUILDING: frozenset(
        {
            BuildStatus.SUCCESSFUL,
            BuildStatus.INCOMPLETE,
            BuildStatus.FAILED,
            BuildStatus.CANCELLED,
        }
    ),
    BuildStatus.SUCCESSFUL: frozenset(),
    BuildStatus.INCOMPLETE: frozenset(),
    BuildStatus.FAILED: frozenset(),
    BuildStatus.CANCELLED: frozenset(),
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


def requirements(kind: str) -> tuple[Requirement, ...]:
    """The kind's needs (builds/result_types.py), each as the types that meet it."""
    return tuple(Requirement(meeting(need)) for need in NEEDS[kind])


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
    if status == BuildStatus.SUCCESSFUL and missing_results(kind, result_types):
        return BuildStatus.INCOMPLETE
    return status


@dataclass(frozen=True)
class AsOf:
    """The moment builds are read at: ``now``, and the inactivity timeout after which a
    BUILDING build with no event since reads LOST (the same rule in Python and in SQL)."""

    now: datetime
    inactivity_timeout: timedelta

    @property
    def lost_before(self) -> datetime:
        """A BUILDING build whose last event is older than this reads LOST."""
        return self.now - self.inactivity_timeout

    def is_lost(self, status: str, last_event_at: datetime) -> bool:
        return status == BuildStatus.BUILDING and last_event_at < self.lost_before

    def visible_status(self, status: str, last_event_at: datetime) -> str:
        return BuildStatus.LOST if self.is_lost(status, last_event_at) else status
