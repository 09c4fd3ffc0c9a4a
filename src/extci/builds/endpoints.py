from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from extci.accounts.dependencies import Viewer
from extci.builds import service
from extci.builds.schemas import BuildDetailOut, BuildStatus, BuildSummary
from extci.builds.service import HistoryFilter
from extci.clock import utcnow
from extci.dependencies import SessionDep, SettingsDep
from extci.pagination import DEFAULT_LIMIT
from extci.schemas import CursorQuery, LimitQuery, PageOut, SearchQuery

MAX_RESULTS_PAGE = 1000
router = APIRouter(prefix="/components/{component_id}/builds", tags=["builds"])


@router.get("", response_model=PageOut[BuildSummary])
def build_history(
    session: SessionDep,
    settings: SettingsDep,
    component_id: str,
    _user: Viewer,
    status: BuildStatus | None = None,
    branch: SearchQuery = None,
    version: SearchQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> PageOut[BuildSummary]:
    page = service.history(
        session,
        component_id,
        filters=HistoryFilter(status=status, branch=branch, version=version),
        now=utcnow(),
        timeout=settings.build_inactivity_timeout,
        cursor=cursor,
        limit=limit,
    )
    return PageOut(items=[BuildSummary.of(v) for v in page.items], next_cursor=page.next_cursor)


# ``:path`` so that a percent-encoded "/" in a pipelineId (Jenkins folder jobs) still routes.
@router.get("/{pipeline_id:path}", response_model=BuildDetailOut)
def build_detail(
    session: SessionDep,
    settings: SettingsDep,
    component_id: str,
    pipeline_id: str,
    _u: Viewer,
    results_cursor: Annotated[CursorQuery, Query(alias="resultsCursor")] = None,
    results_limit: Annotated[
        int, Query(alias="resultsLimit", ge=1, le=MAX_RESULTS_PAGE)
    ] = service.RESULTS_PAGE,
) -> BuildDetailOut:
    detail = service.detail(
        session,
        component_id,
        pipeline_id,
        now=utcnow(),
        timeout=settings.build_inactivity_timeout,
        results_cursor=results_cursor,
        results_limit=results_limit,
    )
    return BuildDetailOut.of_detail(detail)
