"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from extci import metrics
from extci.db import WRITE
from extci.dependencies import RuntimeDep
from extci.errors import Unauthorized

router = APIRouter(tags=["health"])


def check_writable(factory: sessionmaker[Session]) -> None:
    """Raise unless the database answers and would accept a write: on SQLite the write lock
    is taken (and released); on PostgreSQL the server must not be a read-only standby."""
    with factory() as session:
        session.connection(execution_options=WRITE)
        session.execute(text("SELECT 1 FROM alembic_version"))
        if session.get_bind().dialect.name == "postgresql":
            read_only = session.execute(text("SHOW transaction_read_only")).scalar_one()
            if read_only != "off":
                raise RuntimeError("the database is read-only")
        session.rollback()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the database answers a write transaction (rolled back)."""
    try:
        check_writable(runtime.sessions)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__},
            status_code=503,
            headers={"retry-after": "1"},
        )
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """The Prometheus text format (docs/delivery.md, "Metrics"). With EXTCI_METRICS_TOKEN
    set, a scrape must send it as a bearer token (compared in constant time)."""
    expected = runtime.settings.metrics_token
    if expected:
        sent = request.headers.get("authorization", "")
        scheme, _, token = sent.partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), expected.encode()
        )
        if not valid:
            raise Unauthorized(
                "GET /metrics needs the bearer token EXTCI_METRICS_TOKEN.",
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
    body, media_type = metrics.exposition()
    return Response(body, media_type=media_type)
