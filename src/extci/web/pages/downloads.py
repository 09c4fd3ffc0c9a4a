"""``/downloads/``: the reporter as the server serves it, public (a CI job fetches it
before it has any credential), with the SHA-256 a pipeline can pin.

Also puts ``reporter_downloads(request)`` in the templates' globals, for the component
page's "How to send events" (``_downloads.html``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.downloads.bundle import DOWNLOADS, PYZ_NAME, SH_NAME
from extci.errors import NotFound
from extci.web import render as r
from extci.web.pages.common import base_url

router = APIRouter(include_in_schema=False)


@r.template_global
def reporter_downloads(request: Request) -> dict[str, Any]:
    """What the download partial shows: the server's base URL and each file's digest."""
    files = DOWNLOADS.files()
    return {
        "base": base_url(request, request.app.state.runtime.settings),
        "pyz": files[PYZ_NAME],
        "sh": files[SH_NAME],
    }


@router.get("/downloads/")
@router.get("/downloads")
def downloads_page(request: Request) -> Response:
    return r.render(request, "downloads.html", {"visitor": None})


@router.get("/downloads/{name}")
def download(name: str) -> Response:
    wanted, _, suffix = name.partition(".sha256")
    file = DOWNLOADS.get(wanted) if name.endswith(".sha256") or not suffix else None
    if file is None:
        raise NotFound(f"No download is named {name!r}; see /downloads/.")
    headers = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
    if name.endswith(".sha256"):  # in the format `sha256sum -c` reads
        text = f"{file.sha256}  {file.name}\n"
        return Response(text, media_type="text/plain; charset=utf-8", headers=headers)
    headers["etag"] = f'"{file.sha256}"'
    headers["content-disposition"] = f'attachment; filename="{file.name}"'
    return Response(file.content, media_type=file.media_type, headers=headers)
