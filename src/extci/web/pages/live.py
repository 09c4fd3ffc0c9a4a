"""Live updates: server-sent events nudging a page to re-fetch its own fragment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRouter

from extci.notify import Broadcaster
from extci.web.auth import VisitorDep

router = APIRouter(include_in_schema=False)
KEEPALIVE_SECONDS = 15.0


@router.get("/components/{component_id}/live")
async def live(request: Request, _visitor: VisitorDep, component_id: str) -> Response:
    """Server-sent events: one ``build`` event per change of this component's builds."""
    broadcaster: Broadcaster = request.app.state.broadcaster
    subscription = broadcaster.subscribe(component_id)  # before the first byte: no gap

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\n: connected\n\n"
            # "ready" once changes from other processes reach us too (LISTEN is up).
            await broadcaster.ready(timeout=3.0)
            yield "event: ready\ndata: {}\n\n"
            while True:
                try:
                    change = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if change is None:
                    return
                yield f"event: build\ndata: {change.as_json()}\n\n"
        finally:
            broadcaster.unsubscribe(subscription)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
