"""Every request body is bounded before it is read, and the JSON API asks for credentials
before it reads one.

A pure ASGI middleware (no buffering of its own): a declared ``Content-Length`` over the
route's limit is answered 413 at once, and a body sent without one (chunked) is counted
as it streams in and refused as soon as it passes the limit, so no route ever holds more
than its limit in memory. Limits: the JSON API ``EXTCI_MAX_API_BODY_BYTES`` (1 MiB),
everything else — the web UI's forms — ``EXTCI_MAX_FORM_BODY_BYTES`` (64 KiB). The webhook
is left to its own route, which checks the key first and then counts its body against
``EXTCI_MAX_BODY_BYTES`` (the contract's order, and its 413 carries the rate-limit headers).

A state-changing JSON API request that carries no credentials at all (no Authorization
header, no session cookie) is answered 401 before its body is read. Whether credentials
are valid is decided later, after FastAPI has parsed the body (within the API's limit).

Why not Starlette's ``RequestBodyLimitMiddleware`` (FastAPI's ``max_body_size``): it
answers a plain-text 413 and replaces whatever response the app sends for a request whose
declared length is over the limit — the webhook's 401 and every problem+json included.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extci.asgi import HttpMiddleware
from extci.errors import ExtciError, PayloadTooLarge, Unauthorized

WEBHOOK_PATH = "/ci/webhook"  # bounds its own body (extci.ingest.endpoints)
API_PREFIX = "/api/"
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, api: int, form: int, session_cookie: str) -> None:
        super().__init__(app)
        self.api, self.form = api, form
        self.session_cookie = session_cookie.encode()

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"].removeprefix(scope.get("root_path", ""))
        headers = dict(scope["headers"])
        if path == WEBHOOK_PATH:
            # The route counts its own body (EXTCI_MAX_BODY_BYTES), after checking the key:
            # 401 comes first, and its 413 carries the rate-limit headers.
            await self.app(scope, receive, send)
            return
        limit = self.api if path.startswith(API_PREFIX) else self.form
        refusal = self._refusal(path, scope["method"], headers, limit)
        if refusal is not None:
            await _problem(send, refusal)
            return
        await self.app(scope, _bounded(receive, limit), send)

    def _refusal(self, path: str, method: str, headers: dict[bytes, bytes], limit: int) -> Any:
        declared = headers.get(b"content-length", b"")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            return PayloadTooLarge(f"The body is larger than {limit} bytes.")
        if (
            path.startswith(API_PREFIX)
            and method not in _BODYLESS
            and b"authorization" not in headers
            and self.session_cookie not in headers.get(b"cookie", b"")
        ):
            return Unauthorized("Sign in, or send a personal access token (Authorization: Bearer).")
        return None


def _bounded(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # An HTTPException, because FastAPI turns any other error raised while it
                # reads a body into "400 error parsing the body"; app.py renders it as
                # problem+json.
                raise HTTPException(413, f"The body is larger than {limit} bytes.")
        return message

    return bounded_receive


async def _problem(send: Send, error: ExtciError) -> None:
    body = json.dumps(error.problem()).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
