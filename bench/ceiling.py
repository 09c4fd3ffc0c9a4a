"""The ceiling: what the server stack of ``extci serve`` answers per second when the
webhook stores nothing. Run with the measured checkout's Python (``bench.servers.Ceiling``).

Same server, same options (``extci.server.server_options``), same request (the key header
checked, the body read and parsed as JSON) and the same response (the four fields and the
rate-limit headers of a real answer).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from extci.config import Settings

MEDIA_TYPE = "application/vnd.codenow.v1+json"


async def webhook(request: Request) -> Response:
    if not request.headers.get("x-codenow-api-key"):
        return JSONResponse({"title": "Unauthorized"}, status_code=401)
    event = json.loads(await request.body())
    content = {
        "pipelineId": event.get("pipelineId"),
        "componentId": event.get("componentId", "bench"),
        "buildStatus": "BUILDING",
        "duplicate": False,
    }
    headers = {
        "x-ratelimit-limit": "1000000000",
        "x-ratelimit-remaining": "999999999",
        "x-ratelimit-reset": "60",
    }
    media_type = MEDIA_TYPE if MEDIA_TYPE in request.headers.get("accept", "") else None
    return JSONResponse(content, headers=headers, media_type=media_type)


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


def options(settings: Settings) -> dict[str, Any]:
    try:
        from extci.server import server_options
    except ImportError:
        # Checkouts before server_options (up to 9998cf6) ran uvicorn with exactly these.
        return {
            "host": settings.host,
            "port": settings.port,
            "log_level": "info",
            "proxy_headers": False,
            "timeout_graceful_shutdown": 10,
        }
    return server_options(settings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    app = Starlette(
        routes=[Route("/ci/webhook", webhook, methods=["POST"]), Route("/healthz", healthz)]
    )
    logging.basicConfig(level=logging.INFO)  # as extci serve does
    uvicorn.run(app, **options(Settings(port=port, host="127.0.0.1")))


if __name__ == "__main__":
    main()
