"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from extci import metrics
from extci.db import check_writable
from extci.dependencies import RuntimeDep
from extci.errors import Unauthorized

router = APIRouter(tags=["health"])


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
