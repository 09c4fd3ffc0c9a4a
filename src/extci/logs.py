"""Logs: plain text for people or one JSON object per line (``EXTCI_LOG_FORMAT=json``), and a
request id that ties a client's answer to the server's log lines.

Every HTTP request gets an id: the client's ``X-Request-Id`` when it is short and made of
safe characters (a proxy's id then runs through), else a fresh random one. It is echoed in
the ``X-Request-Id`` response header and in every problem+json body (``requestId``), so a
user's error report can be found in the log, and it is on every line logged while the
request is handled.

:class:`RequestLog` is a pure ASGI wrapper around the whole application (outside even the
500 handler, so that answer carries the id too) and writes the access log itself, one line
per request with its duration; uvicorn's own access log is off. It replaces that log rather
than adding to it, which keeps the webhook's per-request cost where it was (measured in
docs/operations.md).

Never logged: headers (keys, tokens and cookies travel there), query strings, bodies.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extci.asgi import HttpMiddleware
from extci.errors import REQUEST_ID

ACCESS_LOGGER = "extci.access"
ACCESS = logging.getLogger(ACCESS_LOGGER)
# The scope key under which a route adds what it learnt (component, pipeline id).
SCOPE_KEY = "extci.log"
HEADER = b"x-request-id"
MAX_ID_LENGTH = 128
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:@+=/-]{1,%d}" % MAX_ID_LENGTH)
# Fields a log call may pass in ``extra``; they become keys of the JSON object.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "component", "pipeline_id")

__all__ = ["REQUEST_ID", "RequestLog", "logging_config", "new_request_id"]


# A generated id is this process's random prefix and a counter: unique, and no system
# call per request (os.urandom releases the GIL, and the writer thread then holds it).
_PREFIX = os.urandom(6).hex()
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):010x}"


def _reseed() -> None:  # a forked worker gets a prefix of its own
    global _PREFIX
    _PREFIX = os.urandom(6).hex()


os.register_at_fork(after_in_child=_reseed)


def request_id_from(value: bytes | None) -> str:
    """The client's id when it is acceptable, else a new one."""
    if value is not None and _SAFE_ID.fullmatch(value):
        return value.decode("ascii")
    return new_request_id()


class RequestLog(HttpMiddleware):
    """ASGI middleware: the request id, and one access-log line per HTTP request."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        super().__init__(app)
        self.access_log = access_log

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        presented = None
        for name, value in scope["headers"]:
            if name == HEADER:
                presented = value
                break
        request_id = request_id_from(presented)
        raw_id = request_id.encode("ascii")
        fields: dict[str, Any] = {}
        scope[SCOPE_KEY] = fields
        status = 500  # if the application fails before it answers, the server sends 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (HEADER, raw_id)]
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log and ACCESS.isEnabledFor(logging.INFO):
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                ACCESS.info(
                    '%s "%s %s" %s %.2fms',
                    _client(scope),
                    scope["method"],
                    scope["path"],
                    status,
                    duration_ms,
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": duration_ms,
                        **fields,
                    },
                )
            REQUEST_ID.reset(token)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class LoopBatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that, on the event loop's thread, writes the lines logged during one
    turn of the loop together, at the end of that turn: under load one write serves many
    requests (each write is a system call that hands the GIL to the ingest writer thread,
    and the loop then waits to get it back); when idle a line is written at once. Records
    from other threads are written directly."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != ACCESS_LOGGER:
            # Only the access log (a line per request) is batched. Anything else (errors,
            # the server's start and stop) is written at once, after what is pending: a
            # process ended by a signal never runs the loop's next turn, and its last
            # lines would be lost.
            self._write_pending()
            super().emit(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            super().emit(record)
            return
        try:
            self._pending.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._write_pending)

    def _write_pending(self) -> None:
        self._scheduled = False
        lines, self._pending = self._pending, []
        if not lines:
            return
        try:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(self.terminator.join(lines) + self.terminator)
                self.stream.flush()
        except Exception:
            # As StreamHandler.emit does: a log line that cannot be written (a closed or
            # full stream) is reported on stderr by handleError and never raised into the
            # code that logged, which may be serving a request.
            more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
            self.handleError(logging.makeLogRecord({"msg": lines[0] + more, "args": None}))

    def flush(self) -> None:
        self._write_pending()
        super().flush()


class TextFormatter(logging.Formatter):
    """``LEVEL time logger: message [request id]``: the level first, as uvicorn's own lines
    had it, so ``grep ^ERROR`` keeps finding errors."""

    def __init__(self) -> None:
        super().__init__("%(levelname)-8s %(asctime)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, pid, and the request's
    fields where known (request_id, method, path, status, duration_ms, component,
    pipeline_id); an exception's traceback under ``error``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server (uvicorn applies it in every worker
    process): our formatter on stderr for the root logger and uvicorn's loggers."""
    formatter = "json" if log_format == "json" else "text"
    handler = {
        "class": "extci.logs.LoopBatchingHandler",
        "formatter": formatter,
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "extci.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"()": "extci.logs.TextFormatter"},
            "json": {"()": "extci.logs.JsonFormatter"},
        },
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's loggers hand their records to the root's handler.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
