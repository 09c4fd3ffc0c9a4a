"""One build: results by type, the required-results checklist, the event timeline."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.builds import service as builds
from extci.clock import utcnow
from extci.dependencies import SessionDep, SettingsDep
from extci.web import render as r
from extci.web.auth import VisitorDep

router = APIRouter(include_in_schema=False)


@router.get("/components/{component_id}/builds/{pipeline_id:path}")
def build_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    component_id: str,
    pipeline_id: str,
    fragment: str = "",
) -> Response:
    # detail() has checked the component exists and owns the build: no second query for it.
    detail = builds.detail(
        session,
        component_id,
        pipeline_id,
        now=utcnow(),
        timeout=settings.build_inactivity_timeout,
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in detail.results:
        groups.setdefault(result.type, []).append({**result.fields, "_at": result.received_at})
    context = {
        "visitor": visitor,
        "component_id": detail.view.build.component_id,
        "detail": detail,
        "build": detail.view.build,
        "status": detail.view.status,
        "groups": groups,
        "live_src": f"/components/{component_id}/builds/{quote(pipeline_id, safe='')}?fragment=1",
    }
    return r.render(request, "_build.html" if fragment else "build.html", context)
