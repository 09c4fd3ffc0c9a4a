"""The ``Allow`` header of a 405: every method the path answers to, not just one route's.

Starlette answers 405 from the first route whose path matches, so ``OPTIONS
/api/v1/tokens`` said ``Allow: POST`` although ``GET`` works too. RFC 9110 §15.5.6 wants
the methods of the resource: here, every method some route fully matches at this path.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    # Ask the routes themselves (routers included in routers too) rather than walking them:
    # only they know their prefixes and path converters.
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)
