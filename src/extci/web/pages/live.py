"""Live updates: server-sent events nudging a page to re-fetch its own fragment."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRouter
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from extci.db import unit_of_work
from extci.dependencies import RuntimeDep
from extci.notify import Broadcaster
from extci.runtime import Runtime
from extci.web.auth import VisitorDep, current_visitor

log = logging.getLogger("extci")
router = APIRouter(include_in_schema=False)
KEEPALIVE_SECONDS = 15.0
# An open stream asks again this often whether its session still exists, so that signing
# out, a new password or a deactivation ends it within a few seconds.
SESSION_RECHECK_SECONDS = 3.0


def _still_signed_in(request: Request, runtime: Runtime) -> bool:
    try:
        with unit_of_work(runtime.sessions) as session:
            return current_visitor(request, session, runtime.settings) is not None
    except SQLAlchemyError as exc:
        # Cannot tell: end the stream; the browser reconnects and is checked afresh.
        log.warning("live updates: session re-check failed (%s)", type(exc).__name__)
        return False


@router.get("/components/{component_id}/live")
async def live(
    request: Request, runtime: RuntimeDep, _visitor: VisitorDep, component_id: str
) -> Response:
    """Server-sent events: one ``build`` event per change of this component's builds."""
    broadcaster: Broadcaster = request.app.state.runtime.broadcaster
    subscription = broadcaster.subscribe(component_id)  # before the first byte: no gap

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\n: connected\n\n"
            # "ready" once changes from other processes reach us too (LISTEN is up).
            await broadcaster.ready(timeout=3.0)
            yield "event: ready\ndata: {}\n\n"
            checked = written = time.monotonic()
            while True:
                now = time.monotonic()
                if now - checked >= SESSION_RECHECK_SECONDS:
                    if not await run_in_threadpool(_still_signed_in, request, runtime):
                        return  # signed out, new password, deactivated: the stream ends
                    checked = now
                if now - written >= KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    written = now
                due = min(checked + SESSION_RECHECK_SECONDS, written + KEEPALIVE_SECONDS)
                try:
                    change = await asyncio.wait_for(
                        subscription.queue.get(), max(due - time.monotonic(), 0.0)
                    )
                except TimeoutError:
                    continue
                if change is None:
                    return
                yield f"event: build\ndata: {change.as_json()}\n\n"
                written = time.monotonic()
        finally:
            broadcaster.unsubscribe(subscription)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
