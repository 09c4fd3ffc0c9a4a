"""``POST /ci/webhook``: check the key, read raw bytes, validate once, hand the event
to the group-commit writer, answer after its batch has committed.

Order of checks: key or identity token (401) → rate limit (429) → media type (415) → size
(413) → body (400) → the event's own rules (403/404/409)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from extci import notify, security
from extci.builds import state
from extci.db import unit_of_work
from extci.errors import (
    ExtciError,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from extci.ingest.events import END, RESULT, START, WIRE_VERSION
from extci.ingest.parse import parse_event
from extci.keys import service as keys
from extci.keys.cache import KeyRecord
from extci.logs import SCOPE_KEY
from extci.metrics import UNKNOWN, WebhookMeter
from extci.problems import problem_for
from extci.runtime import Runtime
from extci.trust.oidc import INVALID_TOKEN

WEBHOOK_PATH = "/ci/webhook"

ACCEPTED_MEDIA_TYPES = frozenset({WIRE_VERSION, "application/json"})

# The webhook's counters, every labelled child bound once (docs/delivery.md, "Metrics").
METER = WebhookMeter(
    {START: "start", RESULT: "result", END: "end", None: UNKNOWN},
    (200, 400, 401, 403, 404, 409, 413, 415, 429, 500, 503),
    tuple(s for s in state.STORED_STATUSES if s not in state.OPEN_STATUSES),
)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to be over ``limit``, declared or streamed.
    (This route counts for itself rather than through FastAPI's ``max_body_size``, which
    would answer 413 before the key is checked: the contract's order is 401 first.)"""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _load_key(runtime: Runtime, key_hash: str) -> KeyRecord | None:
    with unit_of_work(runtime.sessions) as session:
        return keys.lookup(session, key_hash)


async def _authenticate(runtime: Runtime, presented: str | None) -> keys.AuthenticatedKey:
    """The key behind the request, or 401; malformed keys never reach the database, and
    known ones are answered from a cache that lives at most ``EXTCI_KEY_CACHE_SECONDS``."""
    if not presented or not security.token_is_well_formed(presented, security.CI_KEY_PREFIX):
        raise Unauthorized(keys.INVALID_KEY)
    key_hash = security.keyed_hash(runtime.settings.hmac_key, presented)
    found, record = runtime.key_cache.get(key_hash)
    if not found:
        record = await runtime.key_cache.load(
            key_hash, lambda: run_in_threadpool(_load_key, runtime, key_hash)
        )
    if record is None or not record.active(runtime.clock.now()):
        raise Unauthorized(keys.INVALID_KEY)
    return keys.AuthenticatedKey(record.id, record.component_id)


async def _authenticate_token(runtime: Runtime, request: Request) -> keys.AuthenticatedKey:
    """``Authorization: Bearer <OIDC identity token>``, checked against the trust policies
    (:mod:`extci.trust.oidc`); ``X-Extci-Component`` picks the component when policies of
    several components trust the same token. Then the request goes on as with a key."""
    scheme, _, token = request.headers["authorization"].partition(" ")
    if scheme.lower() != "bearer" or runtime.oidc is None:
        raise Unauthorized(INVALID_TOKEN)
    component = request.headers.get("x-extci-component") or None
    return await runtime.oidc.authenticate(token.strip(), component)


async def webhook(request: Request) -> JSONResponse:
    """The hot path, as a plain Starlette endpoint: FastAPI's per-request machinery
    (dependency solving, its exit stack) cost more than the event's own validation. Its
    OpenAPI description is added by :mod:`extci.openapi` from :data:`WEBHOOK_OPENAPI`.

    Every answer is counted (:data:`METER`: event type, status, and an accepted event's
    latency); the handler itself is :func:`_receive`."""
    arrived = time.monotonic()  # the queues below bound the wait from here, not their own
    seen: list[str | None] = [None]  # the event's type, once it is known
    status = 500
    try:
        response = await _receive(request, arrived, seen)
        status = response.status_code
        return response
    except ExtciError as exc:
        status = exc.status
        raise
    except ClientDisconnect:
        status = 400  # as the app answers it (nobody reads it)
        raise
    finally:
        METER.answered(seen[0], status, time.monotonic() - arrived)


async def _receive(request: Request, arrived: float, seen: list[str | None]) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    presented = request.headers.get("x-codenow-api-key")
    if presented is None and "authorization" in request.headers:  # keyless: an OIDC token
        key = await _authenticate_token(runtime, request)
    else:
        key = await _authenticate(runtime, presented)
    log_fields = request.scope.get(SCOPE_KEY)  # the access log's line (extci.logs)
    if log_fields is not None:
        log_fields["component"] = key.component_id
    quota = await runtime.rate_limiter.hit(key.id, since=arrived)
    headers = quota.headers()
    try:
        if not quota.allowed:
            raise TooManyRequests(
                f"More than {quota.limit} requests a minute with this CI key; "
                f"retry in {quota.reset_seconds} s."
            )
        if not runtime.writer.admitting():  # refused before the body is read: cheap
            raise ServiceUnavailable(
                "The server is receiving more events than it can store; retry shortly.",
                headers={"retry-after": "1"},
            )
        if _media_type(request.headers.get("content-type")) not in ACCEPTED_MEDIA_TYPES:
            raise UnsupportedMediaType(
                f"Send the event as {WIRE_VERSION} (application/json is accepted too)."
            )
        body = await _read_body(request, runtime.settings.max_body_bytes)
        event = parse_event(body, runtime.limits)
        if log_fields is not None:
            log_fields["pipeline_id"] = event.pipeline_id
        seen[0] = event.type
        try:
            outcome = await runtime.writer.submit((event, key), since=arrived)  # once committed
        except asyncio.CancelledError:
            # The server's shutdown grace period is over: answer "retry later" instead of
            # letting the server send a 500 (the batch may still commit: a retry is then a
            # duplicate, which is harmless).
            raise ServiceUnavailable(
                "The server is shutting down; retry shortly.", headers={"retry-after": "1"}
            ) from None
        if not outcome.duplicate:  # committed: nudge open pages (fire-and-forget, no I/O)
            notify.publish(runtime, outcome.component_id, outcome.pipeline_id, outcome.build_status)
            if event.type == END:
                METER.finished(outcome.build_status)
    except ExtciError as exc:
        exc.headers = {**headers, **exc.headers}
        raise
    except DBAPIError as exc:
        # As app.py answers it, but this request was authenticated, so the answer carries
        # the rate-limit headers too (docs/webhook.md, "Rate limit").
        problem = problem_for(exc)
        if problem is None:
            raise
        problem.headers = {**headers, **problem.headers}
        raise problem from exc
    content: dict[str, Any] = {
        "pipelineId": outcome.pipeline_id,
        "componentId": outcome.component_id,
        "buildStatus": outcome.build_status,
        "duplicate": outcome.duplicate,
    }
    accept = request.headers.get("accept", "")
    media_type = WIRE_VERSION if WIRE_VERSION in accept else "application/json"
    return JSONResponse(content, headers=headers, media_type=media_type)


ROUTE = Route(WEBHOOK_PATH, webhook, methods=["POST"], name="webhook")
