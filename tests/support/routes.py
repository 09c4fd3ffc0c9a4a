"""The application's route table as (method, path) pairs, read from ``app.routes``.

Tests that must cover every route (the authorisation matrix, the CSRF tests) parametrise
over this list, so a route added to the app shows up in them without anyone remembering to.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.routing import Mount

from extci.app import create_app
from extci.config import Settings

# HEAD is answered by every GET route; it is not a route of its own.
IMPLIED_METHODS = frozenset({"HEAD"})
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True, order=True)
class RouteKey:
    method: str
    path: str  # as the app declares it: /api/v1/components/{component_id}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def face(self) -> str:
        """Which door it is: the webhook, the JSON API, or the web UI (anything else)."""
        if self.path == "/ci/webhook":
            return "webhook"
        if self.path.startswith("/api/"):
            return "api"
        return "web"

    @property
    def safe(self) -> bool:
        return self.method in ("GET", "HEAD", "OPTIONS")


def _flatten(app: FastAPI) -> list[Any]:
    """Every route, routers included. FastAPI >= 0.16x keeps included routers as nodes of
    ``app.routes``; ``iter_route_contexts`` walks them. Older versions list routes flat."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def app_routes(app: FastAPI) -> list[RouteKey]:
    found: set[RouteKey] = set()
    for route in _flatten(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            # A mount serves every path under it (the static files) with GET.
            found.add(RouteKey("GET", original.path + "/{path:path}"))
            continue
        for method in getattr(route, "methods", None) or ():
            if method not in IMPLIED_METHODS:
                found.add(RouteKey(method, route.path))
    return sorted(found)


@cache
def declared_routes() -> tuple[RouteKey, ...]:
    """The route table of a freshly built app, for test collection (nothing is connected:
    the engine is created lazily and disposed)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'unused.db'}",
            data_dir=Path(tmp),
            secret_key="route-table-secret-key-long-enough-for-hmac",
            create_admin=False,
        )
        app = create_app(settings)
        try:
            return tuple(app_routes(app))
        finally:
            app.state.runtime.close()


def fill_path(path: str, params: dict[str, Any]) -> str:
    """``/components/{component_id}/builds/{pipeline_id:path}`` with values, percent-encoded
    (a pipeline id may hold ``/``)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise KeyError(f"{path}: no value for {{{name}}} (have {sorted(params)})")
        return quote(str(params[name]), safe="")

    return _PARAM.sub(value, path)
