"""What an error means over HTTP: problem+json bodies (RFC 9457) for every exception the
app lets out, installed by :func:`install_error_handlers`, and :func:`problem_for`, what a
database driver's error means to the client (also used where errors are answered without
an exception handler: the ingest writer's batches, the rate limiter's counts)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from extci.allow import allowed_methods
from extci.errors import (
    Conflict,
    ExtciError,
    FieldError,
    ServiceUnavailable,
    ValidationFailed,
    json_pointer,
    with_request_id,
)

log = logging.getLogger("extci")
PROBLEM_JSON = "application/problem+json"


_BAD_VALUE = "A value in the request cannot be stored (a NUL character, or too large)."
# PostgreSQL error classes (SQLSTATE, first two characters) that are transient: connection
# trouble, serialisation failure or deadlock, resources, an administrator's cancel/shutdown;
# and one condition of class 55: a lock not granted within an operator's lock_timeout.
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57"})
_TRANSIENT_STATES = frozenset({"55P03"})


def problem_for(exc: DBAPIError) -> ExtciError | None:
    """What a database error means to the client, or None for a server bug (a 500).

    - a unique or foreign key constraint that fired anyway lost a race with a concurrent
      request: 409, and a retry gets the ordinary answer;
    - a value the database cannot hold (NUL on PostgreSQL, out of range, too large for an
      index): 400;
    - busy, locked, disk full, disconnected, deadlock or serialisation failure: transient,
      nothing was stored, so 503 with Retry-After.
    """
    sqlstate = getattr(exc.orig, "sqlstate", None)
    message = str(exc.orig).lower()
    if sqlstate is not None:  # PostgreSQL names the condition exactly
        race = sqlstate in ("23505", "23503")
        bad_value = sqlstate[:2] in ("22", "54")
        transient = sqlstate[:2] in _TRANSIENT_CLASSES or sqlstate in _TRANSIENT_STATES
    elif exc.connection_invalidated or type(exc.orig).__module__.startswith("psycopg"):
        # PostgreSQL without a SQLSTATE: the connection was lost or never made (server
        # gone, too many connections): nothing was stored. Or psycopg refused a value
        # before sending it (a NUL in a text): the client's.
        race, bad_value = False, isinstance(exc, DataError)
        transient = isinstance(exc, OperationalError | InterfaceError)
    else:  # SQLite: by exception class and message
        race = isinstance(exc, IntegrityError) and ("unique" in message or "foreign" in message)
        bad_value = isinstance(exc, DataError)
        transient = isinstance(exc, OperationalError) and any(
            word in message for word in ("locked", "busy", "disk is full", "disk i/o")
        )
    if race:
        return Conflict("The request conflicts with a concurrent change; retry it.")
    if bad_value:
        return ValidationFailed(_BAD_VALUE)
    if transient:
        return unavailable()
    return None


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is busy or unreachable; retry shortly.", headers={"retry-after": "1"}
    )


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ExtciError, _extci_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
