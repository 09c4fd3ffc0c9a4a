"""The ASGI application: routers of every edge, one error handler, the OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from extci import __version__
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.endpoints import router as accounts_router
from extci.allow import allowed_methods
from extci.audit.endpoints import router as audit_router
from extci.bodylimit import BodyLimit
from extci.builds.endpoints import component_router as delivery_router
from extci.builds.endpoints import router as builds_router
from extci.builds.retention import RetentionTask
from extci.components.endpoints import router as components_router
from extci.config import Settings
from extci.db import problem_for, unavailable
from extci.errors import ExtciError, FieldError, ValidationFailed, json_pointer, with_request_id
from extci.health import router as health_router
from extci.ingest.endpoints import ROUTE as WEBHOOK_ROUTE
from extci.keys.endpoints import router as keys_router
from extci.logs import RequestLog
from extci.openapi import build as build_openapi
from extci.runtime import Runtime
from extci.slow_clients import BodyReadTimeout
from extci.trust.endpoints import router as trust_router
from extci.webhooks.endpoints import router as webhooks_router

log = logging.getLogger("extci")
PROBLEM_JSON = "application/problem+json"
# How long the stopping server waits for the writer to store what is queued.
CLOSE_SECONDS = 1.0


def problem_response(error: ExtciError) -> JSONResponse:
    return JSONResponse(
        error.problem(), status_code=error.status, headers=error.headers, media_type=PROBLEM_JSON
    )


def _pointer(loc: tuple[Any, ...]) -> str:
    # FastAPI locations start with where the value came from (body, query, path, header);
    # the pointer names the field itself, as the services' own errors do (/limit, /name).
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    return json_pointer(parts)


async def _extci_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExtciError)
    return problem_response(exc)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(_pointer(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()]
    return problem_response(ValidationFailed("The request is invalid.", errors=errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": allowed_methods(request)}
    body = {
        "type": "about:blank",
        "title": HTTPStatus(exc.status_code).phrase,
        "status": exc.status_code,
        "detail": str(exc.detail),
    }
    return JSONResponse(
        with_request_id(body),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=PROBLEM_JSON,
    )


async def _database_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    problem = problem_for(exc)
    if problem is None:
        return await _unexpected(_request, exc)
    log.warning("database error answered %s: %s", problem.status, type(exc.orig).__name__)
    return problem_response(problem)


async def _pool_exhausted(_request: Request, exc: Exception) -> Response:
    # Every pooled connection is busy: transient, like a locked database.
    log.warning("database connection pool exhausted")
    return problem_response(unavailable())


async def _client_gone(_request: Request, exc: Exception) -> Response:
    # The client hung up before sending its whole body: an ordinary event on the internet,
    # not a fault of ours. Nothing was stored; nobody is left to read an answer.
    log.debug("client disconnected mid-request")
    return Response(status_code=400)


async def _unexpected(_request: Request, exc: Exception) -> Response:
    # A bug of ours, never the client's input: log it, answer problem+json without details.
    log.error("unexpected error", exc_info=exc)
    return problem_response(ExtciError("Something went wrong on the server; it was logged."))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        # FastAPI's native OpenTelemetry hook asks the environment on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="extci",
        version=__version__,
        description=(
            "External CI receiver: CI pipelines report runs through `POST /ci/webhook`; "
            "people and scripts manage components, CI keys, builds and users under `/api/v1`."
        ),
    )
    runtime = Runtime.from_settings(settings)
    app.state.runtime = runtime
    app.router.lifespan_context = _lifespan
    app.add_middleware(
        BodyLimit,
        api=settings.max_api_body_bytes,
        form=settings.max_form_body_bytes,
        session_cookie=SESSION_COOKIE,
    )
    app.add_exception_handler(ExtciError, _extci_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
    app.router.routes.insert(0, WEBHOOK_ROUTE)  # the hot path is matched first
    routers = (components_router, keys_router, builds_router, delivery_router)
    for router in (*routers, accounts_router, audit_router, webhooks_router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(trust_router, prefix="/api/v1")
    app.include_router(health_router)
    _install_web(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyReadTimeout, seconds=settings.body_read_timeout.total_seconds())
    # Outermost, around Starlette's own 500 handler too: every answer carries the id.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: RequestLog(build_stack())  # type: ignore[method-assign]
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The server stops taking requests first; then the writer stores what is queued.
    runtime: Runtime = app.state.runtime
    retention = None
    if runtime.settings.retention is not None:
        retention = RetentionTask(runtime.engine, runtime.settings.retention)
        retention.start()
    if runtime.settings.webhook_deliver:
        runtime.deliveries.start()
    try:
        yield
    finally:
        if retention is not None:
            await retention.stop()
        # By now the server has answered every request or the shutdown grace period is
        # over (and the waiting requests were answered 503): do not linger on a batch
        # that is stuck on the database; nobody is waiting for its answer any more.
        await run_in_threadpool(runtime.deliveries.close, CLOSE_SECONDS)
        await run_in_threadpool(runtime.writer.close, CLOSE_SECONDS)
        await run_in_threadpool(runtime.rate_limiter.close)


def _install_web(app: FastAPI) -> None:
    """The web UI: server-rendered pages on the same services (see extci.web)."""
    from extci.web.views import install

    install(app)
