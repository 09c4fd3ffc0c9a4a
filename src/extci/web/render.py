"""Templates, their filters, and the headers every page carries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from extci.builds import result_types
from extci.builds.state import BuildStatus
from extci.clock import utcnow
from extci.components.kinds import CiMode, ComponentKind
from extci.humanize import duration
from extci.keys.models import KeyStatus

HERE = Path(__file__).parent
STATIC = HERE / "static"

# Our own CSS and JS only: no inline script or style anywhere, so the policy can say so.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
F = TypeVar("F", bound=Callable[..., Any])


# What templates call is registered where it is defined, in any module: filters by name
# (``{{ build.started_at | when }}``) and global functions (``{{ build_url(...) }}``).
def template_filter(name: str | None = None) -> Callable[[F], F]:
    """Makes the function a template filter, under ``name`` or its own."""

    def register(function: F) -> F:
        ENV.filters[name or function.__name__] = function
        return function

    return register


def template_global(function: F) -> F:
    """Makes the function callable from every template."""
    ENV.globals[function.__name__] = function
    return function


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@template_filter()
def when(value: datetime | None) -> Markup:
    """A time the browser rewrites into the viewer's zone; ISO on hover; UTC without JS."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    utc = value.astimezone(UTC)
    iso = utc.isoformat().replace("+00:00", "Z")
    text = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(iso, text)


@template_global
def live_duration(started: datetime, ended: datetime | None, seconds: float | None) -> Markup:
    """A running build's duration ticks in the browser; a finished one is fixed."""
    if ended is not None:
        return Markup("<span>{}</span>").format(duration(seconds))
    iso = started.astimezone(UTC).isoformat().replace("+00:00", "Z")
    elapsed = (utcnow() - started).total_seconds()
    return Markup('<span data-since="{}">{}</span>').format(iso, duration(elapsed))


@template_filter()
def safe_url(url: str | None) -> str | None:
    """Only http(s) links become anchors; anything else (javascript:, data:) stays text."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


@template_filter()
def link(url: str | None, text: str | None = None) -> Markup:
    label = text if text is not None else (url or "")
    href = safe_url(url)
    if href is None:
        return Markup("<span>{}</span>").format(label)
    return Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(href, label)


@template_filter()
def short_sha(sha: str | None) -> str:
    return sha[:7] if sha else ""


# A path segment that is "." or ".." is a dot segment: browsers remove it (with the segment
# before it, for "..") even when it is percent-encoded as %2E, so such a pipelineId cannot
# be the last segment of a link. Those builds are addressed by query string instead.
DOT_SEGMENTS = frozenset({".", ".."})


@template_global
def build_url(component_id: str, pipeline_id: str) -> str:
    """The page of one build: ``/components/{id}/builds/{pipelineId}``, every reserved
    character of the pipelineId percent-encoded ("/" too: Jenkins folder jobs), or
    ``/components/{id}/build?pipelineId=..`` for the two ids a browser would collapse."""
    if pipeline_id in DOT_SEGMENTS:
        return f"/components/{component_id}/build?{urlencode({'pipelineId': pipeline_id})}"
    return f"/components/{component_id}/builds/{quote(pipeline_id, safe='')}"


@template_filter("badge")
def status_badge(status: str) -> Markup:
    return Markup('<span class="badge badge-{}">{}</span>').format(status.lower(), status)


@template_global
def result_macro(result_type: str) -> str:
    """The macro of web/templates/_results.html that shows one item of this type."""
    known = result_types.BY_NAME.get(result_type)
    return (known.macro if known else None) or "default"


@template_global
def artifact_needs(kind: str) -> list[tuple[str, ...]]:
    """For the component page's hint: each need of the kind but the git one (the hint names
    git-revision first, for every kind), as the types that meet it."""
    needs = result_types.NEEDS.get(kind, ())
    return [result_types.meeting(n) for n in needs if n is not result_types.Need.GIT]


ENV.filters["duration"] = duration
ENV.globals.update(
    escape=escape,
    asset_version=_asset_version(),
    # Templates compare with these, never with the strings they stand for.
    **{enum.__name__: enum for enum in (BuildStatus, CiMode, ComponentKind, KeyStatus)},
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    html = ENV.get_template(template).render({"request": request, **context})
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
