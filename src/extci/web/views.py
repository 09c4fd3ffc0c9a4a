"""The web UI: server-rendered pages on the same services the JSON API calls.

Every page reads without JavaScript; ``static/app.js`` only improves (modal dialogs, copy,
local times, live updates over server-sent events from :mod:`extci.notify`). The pages
live in :mod:`extci.web.pages` by subject, the HTML error pages in :mod:`extci.web.errors`;
this module installs them. The live updates' broadcaster and the sign-in throttle are the
runtime's (:class:`extci.runtime.Runtime`), started and stopped by the app's lifespan.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from extci.web import render as r
from extci.web.errors import install_error_pages
from extci.web.pages import ROUTERS

__all__ = ["install"]


async def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links: the same SVG, not a 404."""
    return FileResponse(
        r.STATIC / "favicon.svg",
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
    )


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=r.STATIC), name="static")
    app.add_api_route("/favicon.ico", favicon, methods=["GET", "HEAD"], include_in_schema=False)
    install_error_pages(app)
