"""One build: results by type, the required-results checklist, the event timeline."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter
from sqlalchemy.orm import Session

from extci.builds import service as builds
from extci.config import Settings
from extci.dependencies import SessionDep, SettingsDep, request_now
from extci.schemas import CursorQuery, Text
from extci.web import render as r
from extci.web.auth import Visitor, VisitorDep

router = APIRouter(include_in_schema=False)


def _build_page(
    request: Request,
    session: Session,
    settings: Settings,
    visitor: Visitor,
    component_id: str,
    pipeline_id: str,
    fragment: str,
    results_cursor: str | None,
) -> Response:
    # detail() has checked the component exists and owns the build: no second query for it.
    detail = builds.detail(
        session,
        component_id,
        pipeline_id,
        now=request_now(request),
        inactivity_timeout=settings.build_inactivity_timeout,
        results_cursor=results_cursor,
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in detail.results:
        groups.setdefault(result.type, []).append({**result.fields, "_at": result.received_at})
    url = r.build_url(component_id, pipeline_id)
    joiner = "&" if "?" in url else "?"
    more = detail.results_next_cursor
    context = {
        "more_results_url": f"{url}{joiner}results={more}#results" if more else None,
        "visitor": visitor,
        "component_id": detail.view.build.component_id,
        "detail": detail,
        "build": detail.view.build,
        "status": detail.view.status,
        "groups": groups,
        "live_src": f"{url}{joiner}fragment=1"
        + (f"&results={results_cursor}" if results_cursor else ""),
    }
    return r.render(request, "_build.html" if fragment else "build.html", context)


@router.get("/components/{component_id}/builds/{pipeline_id:path}")
def build_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    component_id: str,
    pipeline_id: str,
    fragment: str = "",
    results: CursorQuery = None,
) -> Response:
    return _build_page(
        request, session, settings, visitor, component_id, pipeline_id, fragment, results
    )


@router.get("/components/{component_id}/build")
def build_page_by_query(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    component_id: str,
    pipelineId: Text,
    fragment: str = "",
    results: CursorQuery = None,
) -> Response:
    """The same page for any pipelineId, "." and ".." included (see render.build_url)."""
    return _build_page(
        request, session, settings, visitor, component_id, pipelineId, fragment, results
    )
