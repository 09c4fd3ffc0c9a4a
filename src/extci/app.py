"""The ASGI application: routers of every edge, the error handlers (:mod:`extci.problems`),
the OpenAPI document, and the lifespan that starts and stops the runtime's workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from extci import __version__
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.endpoints import router as accounts_router
from extci.audit.endpoints import router as audit_router
from extci.bodylimit import BodyLimit
from extci.builds.endpoints import component_router as delivery_router
from extci.builds.endpoints import router as builds_router
from extci.builds.retention import RetentionTask
from extci.clock import SYSTEM_CLOCK, Clock
from extci.components.endpoints import router as components_router
from extci.config import Settings, create_secret_key
from extci.health import router as health_router
from extci.ingest.endpoints import ROUTE as WEBHOOK_ROUTE
from extci.keys.endpoints import router as keys_router
from extci.logs import RequestLog
from extci.openapi import build as build_openapi
from extci.problems import install_error_handlers
from extci.runtime import Runtime
from extci.slow_clients import BodyReadTimeout
from extci.trust.endpoints import router as trust_router
from extci.webhooks.endpoints import router as webhooks_router

# How long the stopping server waits for the writer to store what is queued.
CLOSE_SECONDS = 1.0


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The app and its :class:`Runtime`; ``clock``: a test's, instead of the system's."""
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
    create_secret_key(settings)  # once, at start: reading the settings never writes
    runtime = Runtime.from_settings(settings, clock or SYSTEM_CLOCK)
    app.state.runtime = runtime
    app.router.lifespan_context = _lifespan
    app.add_middleware(
        BodyLimit,
        api=settings.max_api_body_bytes,
        form=settings.max_form_body_bytes,
        session_cookie=SESSION_COOKIE,
    )
    install_error_handlers(app)
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
    runtime.broadcaster.start()  # live updates of the pages (the webhook publishes to it)
    try:
        yield
    finally:
        await runtime.broadcaster.aclose()
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
