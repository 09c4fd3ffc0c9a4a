"""Build health: the last builds' durations and statuses, success rate and median duration
over 7 and 30 days, and how long it takes to get from a failed build back to a green one.

Figures are computed from the component's newest :data:`SAMPLE` builds (one bounded walk
down an index), so they cost the same however long the history is; a window that reaches
past the sample says so (``truncated``).

Definitions (docs/delivery.md repeats them):

- a window holds the builds *started* in the last N days;
- success rate = SUCCESSFUL / (SUCCESSFUL + INCOMPLETE + FAILED): CANCELLED builds were
  stopped on purpose and BUILDING / LOST ones have no outcome, so they count for neither;
- median duration: of the builds that ran to an outcome (SUCCESSFUL, INCOMPLETE, FAILED);
- recovery: from the end of the first red build (FAILED or INCOMPLETE) after a green one to
  the end of the next SUCCESSFUL build; ``failingSince`` is set while no green build has
  followed yet.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from extci.builds import repository
from extci.builds.state import AsOf, BuildStatus
from extci.components import service as components

RECENT = 50
SAMPLE = 1000  # rows read per page view or API call, however long the history
WINDOWS = (7, 30)
RECOVERY_WINDOW = 30
RED = frozenset({BuildStatus.FAILED, BuildStatus.INCOMPLETE})
GREEN = BuildStatus.SUCCESSFUL
OUTCOMES = frozenset({BuildStatus.SUCCESSFUL, BuildStatus.INCOMPLETE, BuildStatus.FAILED})


@dataclass(frozen=True)
class Point:
    """One build as the chart draws it."""

    pipeline_id: str
    build_version: str
    status: str  # as readers see it (LOST derived)
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None  # so far, for a build still running


@dataclass(frozen=True)
class Window:
    days: int
    builds: int
    successful: int
    failed: int  # FAILED + INCOMPLETE
    cancelled: int
    success_rate: float | None  # 0..1; None without a build that ran to an outcome
    median_duration_seconds: float | None
    truncated: bool  # the window reaches past the sample: figures cover part of it


@dataclass(frozen=True)
class Recovery:
    days: int
    count: int
    median_seconds: float | None
    last_seconds: float | None
    failing_since: datetime | None


@dataclass(frozen=True)
class Health:
    component_id: str
    generated_at: datetime
    recent: list[Point]  # oldest first, at most RECENT
    windows: list[Window]
    recovery: Recovery
    sample_size: int


def _point(row: Any, as_of: AsOf) -> Point:
    status = as_of.visible_status(row.status, row.last_event_at)
    if row.ended_at is not None:
        seconds: float | None = max(0.0, (row.ended_at - row.started_at).total_seconds())
    elif status == BuildStatus.BUILDING:
        seconds = max(0.0, (as_of.now - row.started_at).total_seconds())
    else:
        seconds = None
    return Point(row.pipeline_id, row.build_version, status, row.started_at, row.ended_at, seconds)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _window(points: list[Point], days: int, now: datetime, sample_full: bool) -> Window:
    since = now - timedelta(days=days)
    inside = [p for p in points if p.started_at >= since]
    ran = [p for p in inside if p.status in OUTCOMES]
    successful = sum(p.status == GREEN for p in ran)
    durations = [p.duration_seconds for p in ran if p.duration_seconds is not None]
    return Window(
        days=days,
        builds=len(inside),
        successful=successful,
        failed=len(ran) - successful,
        cancelled=sum(p.status == BuildStatus.CANCELLED for p in inside),
        success_rate=successful / len(ran) if ran else None,
        median_duration_seconds=_median(durations),
        truncated=sample_full and bool(points) and points[0].started_at >= since,
    )


def _recovery(points: list[Point], now: datetime) -> Recovery:
    since = now - timedelta(days=RECOVERY_WINDOW)
    red_since: datetime | None = None
    recoveries: list[float] = []
    for p in points:  # oldest first
        if p.ended_at is None:
            continue
        if p.status in RED and red_since is None:
            red_since = p.ended_at
        elif p.status == GREEN and red_since is not None:
            if p.ended_at >= since:
                recoveries.append(max(0.0, (p.ended_at - red_since).total_seconds()))
            red_since = None
    return Recovery(
        days=RECOVERY_WINDOW,
        count=len(recoveries),
        median_seconds=_median(recoveries),
        last_seconds=recoveries[-1] if recoveries else None,
        failing_since=red_since,
    )


def compute(component_id: str, rows_newest_first: list[Any], as_of: AsOf) -> Health:
    """Pure: the figures from rows of ``repository.newest_for_health``."""
    now = as_of.now
    points = [_point(row, as_of) for row in reversed(rows_newest_first)]
    full = len(points) >= SAMPLE
    return Health(
        component_id=component_id,
        generated_at=now,
        recent=points[-RECENT:],
        windows=[_window(points, days, now, full) for days in WINDOWS],
        recovery=_recovery(points, now),
        sample_size=len(points),
    )


def health(session: Session, component_id: str, *, as_of: AsOf) -> Health:
    components.get(session, component_id)
    rows = repository.newest_for_health(session, component_id, limit=SAMPLE)
    return compute(component_id, rows, as_of)
