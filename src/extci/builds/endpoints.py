from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from extci.accounts.dependencies import ViewerCall
from extci.builds import deployable, service, stats
from extci.builds.schemas import (
    BuildDetailOut,
    BuildSummary,
    DeployableOut,
    HistoryQuery,
    StatsOut,
)
from extci.dependencies import AsOfDep
from extci.ingest.openapi import problem_response
from extci.schemas import NAME_PATTERN, CursorQuery, PageOut, PagingQuery

MAX_RESULTS_PAGE = 1000
router = APIRouter(prefix="/components/{component_id}/builds", tags=["builds"])


@router.get("", response_model=PageOut[BuildSummary])
def build_history(
    call: ViewerCall, as_of: AsOfDep, component_id: str, filters: HistoryQuery, paging: PagingQuery
) -> PageOut[BuildSummary]:
    page = service.history(
        call.session,
        component_id,
        filters=filters.to_filter(),
        as_of=as_of,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return PageOut.of(page, BuildSummary.of)


# ``:path`` so that a percent-encoded "/" in a pipelineId (Jenkins folder jobs) still routes.
@router.get("/{pipeline_id:path}", response_model=BuildDetailOut)
def build_detail(
    call: ViewerCall,
    as_of: AsOfDep,
    component_id: str,
    pipeline_id: str,
    results_cursor: Annotated[CursorQuery, Query(alias="resultsCursor")] = None,
    results_limit: Annotated[
        int, Query(alias="resultsLimit", ge=1, le=MAX_RESULTS_PAGE)
    ] = service.RESULTS_PAGE,
) -> BuildDetailOut:
    detail = service.detail(
        call.session,
        component_id,
        pipeline_id,
        as_of=as_of,
        results_cursor=results_cursor,
        results_limit=results_limit,
    )
    return BuildDetailOut.of_detail(detail)


# ---- delivery: what can be deployed, and how healthy the builds are --------------------

component_router = APIRouter(prefix="/components/{component_id}", tags=["delivery"])

# branch and version: not blank (an unset variable in a deploy script must not widen the
# query to every branch), no NUL; NAME_PATTERN says exactly that.
_NONE_DEPLOYABLE = problem_response(
    "The component does not exist, or has no SUCCESSFUL build matching the filters "
    "(the detail says which)."
)


@component_router.get(
    "/deployable", response_model=DeployableOut, responses={404: _NONE_DEPLOYABLE}
)
def deployable_build(
    call: ViewerCall,
    as_of: AsOfDep,
    component_id: str,
    branch: Annotated[
        str | None, Query(description="only builds of this branch", pattern=NAME_PATTERN)
    ] = None,
    version: Annotated[
        str | None,
        Query(
            description="exact version, or a prefix ending in '.' (1.4. matches 1.4.x)",
            pattern=NAME_PATTERN,
        ),
    ] = None,
) -> DeployableOut:
    """The newest deployable (SUCCESSFUL) build with its deployment coordinates: container
    image references, Helm charts, git revision and tag, packages."""
    found = deployable.newest(
        call.session, component_id, deployable.Query(branch=branch, version=version), as_of=as_of
    )
    return DeployableOut.of(found)


@component_router.get("/stats", response_model=StatsOut)
def build_stats(call: ViewerCall, as_of: AsOfDep, component_id: str) -> StatsOut:
    """Build health: the newest 50 builds, success rate and median duration over 7 and 30
    days, and the time from a failed build to the next green one."""
    figures = stats.health(call.session, component_id, as_of=as_of)
    return StatsOut.of(figures)
