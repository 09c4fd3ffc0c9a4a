"""Tiny real HTTP servers on 127.0.0.1 for the reporter's tests (no mocks of HTTP).

``ScriptedServer`` answers from a list of canned responses; ``FaultProxy`` answers the
first requests with canned faults and forwards the rest to a real upstream (the live
extci server). Both record every request they receive.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, content_type: str = "application/json") -> Canned:
        return cls(status, json.dumps(doc).encode(), {"Content-Type": content_type})


OK = Canned.json(
    200, {"pipelineId": "p", "componentId": "c", "buildStatus": "BUILDING", "duplicate": False}
)


def unavailable(retry_after: str = "1") -> Canned:
    problem = {"type": "about:blank", "title": "Service Unavailable", "status": 503}
    return Canned(
        503,
        json.dumps(problem).encode(),
        {"Content-Type": "application/problem+json", "Retry-After": retry_after},
    )


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Base:
    """Owns the server thread; subclasses decide how to answer."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = Recorded("POST", self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.requests.append(record)
                    index = len(owner.requests) - 1
                reply = owner.answer(index, record)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, index: int, request: Recorded) -> Canned:
        raise NotImplementedError

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ScriptedServer(_Base):
    """Answers request N with ``script[N]``; the last entry repeats."""

    def __init__(self, script: Sequence[Canned]) -> None:
        self.script = list(script)
        super().__init__()

    def answer(self, index: int, request: Recorded) -> Canned:
        return self.script[min(index, len(self.script) - 1)]


class FaultProxy(_Base):
    """Answers the first ``len(faults)`` requests with ``faults``, forwards the others."""

    def __init__(self, upstream: str, faults: Sequence[Canned]) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = list(faults)
        self.forwarded = 0
        super().__init__()

    def answer(self, index: int, request: Recorded) -> Canned:
        if index < len(self.faults):
            return self.faults[index]
        self.forwarded += 1
        skip = {"host", "content-length", "connection"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
        forward = urllib.request.Request(  # noqa: S310 - the live server's http URL
            self.upstream + request.path, data=request.body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(forward, timeout=30) as response:  # noqa: S310
                return Canned(response.status, response.read(), _reply_headers(response.headers))
        except urllib.error.HTTPError as error:
            return Canned(error.code, error.read(), _reply_headers(error.headers))


def _reply_headers(headers: Any) -> dict[str, str]:
    keep = ("content-type", "retry-after")
    return {k: v for k, v in headers.items() if k.lower() in keep}


class Servers:
    """Creates fake servers for one test and closes them all afterwards."""

    def __init__(self) -> None:
        self._all: list[_Base] = []

    def scripted(self, script: Sequence[Canned]) -> ScriptedServer:
        server = ScriptedServer(script)
        self._all.append(server)
        return server

    def proxy(self, upstream: str, faults: Sequence[Canned]) -> FaultProxy:
        proxy = FaultProxy(upstream, faults)
        self._all.append(proxy)
        return proxy

    def close(self) -> None:
        for server in self._all:
            server.close()
