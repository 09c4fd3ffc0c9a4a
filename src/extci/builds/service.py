"""Reading builds: the history of a component and the detail of one build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from extci.builds import repository, state
from extci.builds.models import Build, BuildEvent, BuildResult
from extci.builds.repository import HistoryFilter
from extci.builds.state import BuildStatus
from extci.components import service as components
from extci.errors import FieldError, NotFound, ValidationFailed
from extci.pagination import BIG_MAX_ID, Page, decode_id_cursor, encode_cursor, page_of
from extci.validation import search_text

# HistoryFilter is part of this service's interface; edges import it from here.
__all__ = ["BuildDetail", "BuildView", "HistoryFilter", "detail", "history", "latest", "view"]


@dataclass(frozen=True)
class BuildView:
    """A build as readers see it: the stored row plus the derived status."""

    build: Build
    status: str

    @property
    def duration_seconds(self) -> float | None:
        b = self.build
        if b.ended_at is None:
            return None
        return max(0.0, (b.ended_at - b.started_at).total_seconds())


# A build holds up to EXTCI_MAX_RESULTS_PER_BUILD (1,000) results: its detail shows them a
# page at a time, so neither the API document nor the page grows with them.
RESULTS_PAGE = 200


@dataclass(frozen=True)
class BuildDetail:
    view: BuildView
    kind: str
    results: list[BuildResult]  # one page of them, oldest first
    results_next_cursor: str | None
    git_revision: BuildResult | None  # the first git-revision, wherever it is paged
    events: list[BuildEvent]

    @property
    def required(self) -> list[tuple[str, bool]]:
        present = frozenset(self.view.build.result_types)
        return [(r.label, r.satisfied_by(present)) for r in state.requirements(self.kind)]

    @property
    def missing(self) -> list[str]:
        return [label for label, ok in self.required if not ok]


def view(build: Build, now: datetime, inactivity_timeout: timedelta) -> BuildView:
    return BuildView(
        build, state.visible_status(build.status, build.last_event_at, now, inactivity_timeout)
    )


def history(
    session: Session,
    component_id: str,
    *,
    filters: HistoryFilter,
    now: datetime,
    inactivity_timeout: timedelta,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[BuildView]:
    components.get(session, component_id)
    if filters.status is not None and filters.status not in list(BuildStatus):
        raise ValidationFailed(
            f"Unknown build status {filters.status!r}.",
            errors=[FieldError("/status", "must be one of: " + ", ".join(BuildStatus))],
        )
    search_text(filters.branch, "/branch")
    search_text(filters.version, "/version")
    rows = repository.history(
        session,
        component_id,
        filters=filters,
        lost_before=now - inactivity_timeout,
        after_id=decode_id_cursor(cursor, BIG_MAX_ID),
        limit=limit + 1,
    )
    page = page_of(rows, limit, lambda b: encode_cursor(b.id))
    return Page([view(b, now, inactivity_timeout) for b in page.items], page.next_cursor)


def detail(
    session: Session,
    component_id: str,
    pipeline_id: str,
    *,
    now: datetime,
    inactivity_timeout: timedelta,
    results_cursor: str | None = None,
    results_limit: int = RESULTS_PAGE,
) -> BuildDetail:
    component = components.get(session, component_id)
    build = repository.by_pipeline(session, component_id, pipeline_id)
    if build is None:
        raise NotFound(f"Component {component_id!r} has no build {pipeline_id!r}.")
    after = decode_id_cursor(results_cursor, BIG_MAX_ID, pointer="/resultsCursor")
    rows = repository.results(session, build.id, after_id=after, limit=results_limit + 1)
    page = page_of(rows, results_limit, lambda r: encode_cursor(r.id))
    revisions = repository.results(session, build.id, kind="git-revision", limit=1)
    return BuildDetail(
        view(build, now, inactivity_timeout),
        component.kind,
        page.items,
        page.next_cursor,
        revisions[0] if revisions else None,
        repository.events(session, build.id),
    )


def latest(
    session: Session, component_ids: list[str], now: datetime, inactivity_timeout: timedelta
) -> dict[str, BuildView]:
    return {
        cid: view(b, now, inactivity_timeout)
        for cid, b in repository.latest(session, component_ids).items()
    }
