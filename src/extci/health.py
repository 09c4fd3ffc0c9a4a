"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from extci.dependencies import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the database answers a write transaction (rolled back)."""
    try:
        with runtime.sessions() as session:
            session.connection(execution_options={"extci_write": True})
            session.execute(text("SELECT 1 FROM alembic_version"))
            session.rollback()
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__},
            status_code=503,
            headers={"retry-after": "1"},
        )
    return JSONResponse({"status": "ok"})
