"""Deadlines for slow clients, so that a connection that trickles (or stops) cannot be held
open for ever.

- **Headers** (here, in the HTTP protocol): a new connection must send a request's headers
  within ``EXTCI_HEADER_READ_TIMEOUT`` and so must every later request on it, counted from
  its first byte; sending slowly does not extend it. Otherwise the connection is closed.
  uvicorn has no such timeout (its keep-alive timer runs only between requests), so the
  protocol classes below add one.
- **Body** (in the application, :class:`BodyReadTimeout`): while a route reads the request
  body, each part must arrive within ``EXTCI_BODY_READ_TIMEOUT``, or the answer is 408
  (problem+json) and the connection closes. The rest of a body that nobody reads any more
  (the route answered first, a 401 or 413) must have arrived within that time after the
  answer, or the connection is closed.
- **Connections**: at most ``EXTCI_MAX_CONNECTIONS`` are open; a connection beyond it is
  answered a canned 503 with ``Retry-After`` as it opens. (uvicorn's ``limit_concurrency``
  is not used: its 503 carries no ``Retry-After``.)
- **More new connections than the process can take** (load shedding by waiting time, as
  CoDel does for packets): a new connection whose first request has already waited more
  than ``SHED_AFTER_WAIT`` before the process could look at it (in the kernel's accept
  queue or behind other work; the kernel's ``TCP_INFO`` says when the bytes arrived, on
  Linux) is answered the same canned 503 before its request is parsed. The application's
  own admission (the ingest queue) sees only the database's backlog; this sees the queue
  in front of the process, where requests wait when connections arrive faster than it
  can parse them. A shed answer costs a small fraction of a stored event, so the queue
  drains and every client is answered within about a second at any offered rate,
  instead of waiting in the accept queue past its time-out. Health probes are never shed.

A canned 503 is followed by a lingering close: the write side is shut, whatever the client
still sends is read and dropped, and the socket closes when the client closes it (at most
``LINGER_SECONDS`` later). Closing at once with unread request bytes would make the kernel
reset the connection, and the client would see the reset instead of the 503.
"""

from __future__ import annotations

import asyncio
import enum
import importlib.util
import logging
import socket
import struct
import sys
from typing import Any

import h11
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from extci.asgi import HttpMiddleware
from extci.config import Settings

logger = logging.getLogger("extci.overload")

_BUSY = (
    b'{"type":"urn:extci:problem:unavailable","title":"Service unavailable","status":503,'
    b'"detail":"The server is busy; retry shortly."}'
)
OVERLOADED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_BUSY)).encode()
    + b"\r\n\r\n"
    + _BUSY
)


LINGER_SECONDS = 2.0
SHED_AFTER_WAIT = 0.5  # seconds a new request may have waited before the process saw it
# struct tcp_info (linux/tcp.h): tcpi_last_data_recv, milliseconds, at byte offset 52.
_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform == "linux" else None
_LAST_DATA_RECV = struct.Struct("=I")
_PROBES = (b"GET /healthz", b"GET /readyz", b"HEAD /healthz", b"HEAD /readyz")


def waited_too_long(transport: asyncio.BaseTransport) -> bool:
    """Whether the first request on a new connection arrived more than
    ``SHED_AFTER_WAIT`` ago: it waited in the kernel's accept queue, or behind other work
    in this process, for that long. Known on Linux only (elsewhere: never)."""
    if _TCP_INFO is None:
        return False
    sock = transport.get_extra_info("socket")
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 64)
    except (OSError, AttributeError):  # not TCP (a Unix socket), or closed meanwhile
        return False
    waited_ms: int = _LAST_DATA_RECV.unpack_from(info, 52)[0]
    return waited_ms > SHED_AFTER_WAIT * 1000


class ShedCount:
    """How many connections this process shed; logged once a second at most while it
    lasts, so that an operator sees it without a line per request."""

    def __init__(self) -> None:
        self.shed = 0
        self._reported_at = 0.0

    def count(self, now: float) -> None:
        self.shed += 1
        if now - self._reported_at >= 1.0:
            logger.warning(
                "overloaded: %d new connections answered 503 since the last report "
                "(more than the server can take; their requests waited over %.1f s, "
                "or the connection limit was reached)",
                self.shed,
                SHED_AFTER_WAIT,
            )
            self.shed = 0
            self._reported_at = now


SHED = ShedCount()


class Phase(enum.Enum):
    HEADERS = "waiting for a request's headers"
    READING = "the application is reading the body"  # its own timeout applies
    DRAINING = "a body nobody reads any more is still arriving"
    NONE = "nothing to wait for: idle between requests, or the application is working"


class _Deadlines:
    """Mixed into a uvicorn HTTP protocol class; subclasses say which :class:`Phase` the
    connection is in after each read and each response."""

    header_timeout: float
    body_timeout: float
    max_connections: int
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    connections: set[Any]
    _deadline: asyncio.TimerHandle | None = None
    _fresh = True  # no byte of a request has arrived on this connection yet
    _shedding_now = False  # answered the canned 503; reading and dropping until closed

    def _phase(self) -> Phase:
        raise NotImplementedError

    def _arm(self, seconds: float, *, restart: bool) -> None:
        if self._deadline is not None:
            if not restart:
                return
            self._deadline.cancel()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _track(self) -> None:
        if self.transport.is_closing():
            self._disarm()
            return
        phase = self._phase()
        # Deadlines, not idle timers: sending slowly does not buy more time.
        if phase is Phase.HEADERS:
            self._arm(self.header_timeout, restart=False)
        elif phase is Phase.DRAINING:
            self._arm(self.body_timeout, restart=False)
        else:
            self._disarm()

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self.max_connections:
            # A hard bound, answered without reading anything: a canned 503 with
            # Retry-After costs one write, and tells the client what to do.
            self._shed()
            return
        self._arm(self.header_timeout, restart=True)

    def _shed(self) -> None:
        self._shedding_now = True
        SHED.count(self.loop.time())
        self.transport.write(OVERLOADED)
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the lingering close (module docstring)
            self._arm(LINGER_SECONDS, restart=True)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._shedding_now:
            return  # the rest of a request already answered 503: dropped
        if self._fresh:
            self._fresh = False
            if not data.startswith(_PROBES) and waited_too_long(self.transport):
                self._shed()
                return
        super().data_received(data)  # type: ignore[misc]
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._track()


class H11WithDeadlines(_Deadlines, H11Protocol):  # type: ignore[misc]
    def _phase(self) -> Phase:
        state = self.conn.their_state
        if state is h11.IDLE:
            buffered, _closed = self.conn.trailing_data
            fresh = self.cycle is None  # no request yet: the connection must send one
            return Phase.HEADERS if buffered or fresh else Phase.NONE
        if state is h11.SEND_BODY:
            return Phase.DRAINING if self.cycle.response_complete else Phase.READING
        return Phase.NONE


# httptools (C, faster) is optional; h11 (pure Python) is the fallback.
HAVE_HTTPTOOLS = importlib.util.find_spec("httptools") is not None
if HAVE_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsWithDeadlines(_Deadlines, HttpToolsProtocol):  # type: ignore[misc]
        _message: Phase = Phase.HEADERS  # HEADERS, READING (headers done) or NONE (complete)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._message = Phase.HEADERS

        def on_headers_complete(self) -> None:
            self._message = Phase.READING
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._message = Phase.NONE
            super().on_message_complete()

        def _phase(self) -> Phase:
            if self._message is Phase.READING and self.cycle.response_complete:
                return Phase.DRAINING
            return self._message


def protocol_class(settings: Settings) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with this installation's deadlines: on httptools' parser
    when it is installed (faster), else on h11."""
    base: type[_Deadlines] = HttpToolsWithDeadlines if HAVE_HTTPTOOLS else H11WithDeadlines
    return type(
        "ExtciHTTPProtocol",
        (base,),
        {
            "header_timeout": settings.header_read_timeout.total_seconds(),
            "body_timeout": settings.body_read_timeout.total_seconds(),
            "max_connections": settings.max_connections,
        },
    )


class BodyReadTimeout(HttpMiddleware):
    """ASGI middleware: a request body that stalls for ``seconds`` makes the route's read
    raise an HTTP 408 (rendered by the app's own error handler) with ``Connection: close``.

    It applies only while the body is incomplete, so a long response (the live updates
    stream) listening for the client's disconnect is not affected. The error is an
    ``HTTPException`` because FastAPI passes those through its body parsing as they are.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        super().__init__(app)
        self.seconds = seconds

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body_done = False
        timed_out = False

        async def receive_within_deadline() -> Message:
            nonlocal body_done, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout(self.seconds):  # no extra task, unlike wait_for
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise HTTPException(
                    408,
                    "The request body did not arrive in time.",
                    headers={"connection": "close"},
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, receive_within_deadline, send)
