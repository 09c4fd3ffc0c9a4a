"""One build: results by type, the required-results checklist, the event timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.builds import service as builds
from extci.schemas import CursorQuery, Text
from extci.web import render as r
from extci.web.pages.context import Page, VisitorPage

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Shown:
    """What of a build's page a request asks for: the whole page or only its live fragment
    (``?fragment=1``), from which page of results (``?results=<cursor>``)."""

    fragment: str
    results_cursor: str | None


def _shown(fragment: str = "", results: CursorQuery = None) -> Shown:
    return Shown(fragment, results)


ShownDep = Annotated[Shown, Depends(_shown)]


def _build_page(page: Page, component_id: str, pipeline_id: str, shown: Shown) -> Response:
    # detail() has checked the component exists and owns the build: no second query for it.
    detail = builds.detail(
        page.session,
        component_id,
        pipeline_id,
        as_of=page.as_of,
        results_cursor=shown.results_cursor,
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in detail.results:
        groups.setdefault(result.type, []).append({**result.fields, "_at": result.received_at})
    url = r.build_url(component_id, pipeline_id)
    joiner = "&" if "?" in url else "?"
    more = detail.results_next_cursor
    context = {
        "more_results_url": f"{url}{joiner}results={more}#results" if more else None,
        "component_id": detail.view.build.component_id,
        "detail": detail,
        "build": detail.view.build,
        "status": detail.view.status,
        "groups": groups,
        "live_src": f"{url}{joiner}fragment=1"
        + (f"&results={shown.results_cursor}" if shown.results_cursor else ""),
    }
    return page.render("_build.html" if shown.fragment else "build.html", context)


@router.get("/components/{component_id}/builds/{pipeline_id:path}")
def build_page(page: VisitorPage, component_id: str, pipeline_id: str, shown: ShownDep) -> Response:
    return _build_page(page, component_id, pipeline_id, shown)


@router.get("/components/{component_id}/build")
def build_page_by_query(
    page: VisitorPage, component_id: str, pipelineId: Text, shown: ShownDep
) -> Response:
    """The same page for any pipelineId, "." and ".." included (see render.build_url)."""
    return _build_page(page, component_id, pipelineId, shown)
