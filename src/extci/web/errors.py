"""HTML error pages for the web UI; the JSON API keeps its problem+json answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from extci.accounts.dependencies import SESSION_COOKIE
from extci.allow import allowed_methods
from extci.db import unit_of_work
from extci.errors import ExtciError
from extci.web import render as r
from extci.web.auth import SignInRequired, Visitor, current_visitor
from extci.web.pages.common import see_other

NON_PAGE_PREFIXES = (
    "/api/", "/ci/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi"
)  # fmt: skip

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(NON_PAGE_PREFIXES)


def _visitor(request: Request) -> Visitor | None:
    """Who is signed in, so that an error page keeps the navigation and Sign out. The
    request's own unit of work has ended (rolled back) by now: a short read of its own."""
    if SESSION_COOKIE not in request.cookies:
        return None
    runtime = request.app.state.runtime
    try:
        with unit_of_work(runtime.sessions) as session:
            return current_visitor(request, session, runtime.settings)
    except SQLAlchemyError:
        return None  # the page says what went wrong without the navigation


def error_page(
    request: Request,
    visitor: Visitor | None,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> Response:
    return r.render(
        request,
        "error.html",
        {"visitor": visitor, "status": status, "title": title, "detail": detail},
        status_code=status,
        headers=headers,
    )


def _page_errors(original: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await original(request, exc)
        visitor = await run_in_threadpool(_visitor, request)
        if isinstance(exc, ExtciError):
            return error_page(request, visitor, exc.status, exc.title, exc.detail)
        if isinstance(exc, StarletteHTTPException):
            title = "Not found" if exc.status_code == 404 else "Request refused"
            headers = dict(exc.headers or {})
            if exc.status_code == 405:
                headers["Allow"] = allowed_methods(request)
            return error_page(request, visitor, exc.status_code, title, str(exc.detail), headers)
        return error_page(request, visitor, 400, "Bad request", "The address or form is not valid.")

    return handle


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return see_other("/sign-in?" + urlencode({"next": exc.next_url}))


def install_error_pages(app: FastAPI) -> None:
    """Pages answer errors in HTML (the API keeps its handlers); no session: to /sign-in."""
    for kind in (ExtciError, RequestValidationError, StarletteHTTPException):
        original = app.exception_handlers[kind]
        app.add_exception_handler(kind, _page_errors(original))  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequired, _sign_in_required)
