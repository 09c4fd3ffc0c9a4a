"""A webhook receiver: a real HTTP server on 127.0.0.1 that records every request and
answers as told (a status per request, in turn; 200 once the script runs out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()


class Receiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[Received] = []
        self.answers: list[int] = []  # statuses to answer, in turn
        self.delay = 0.0  # seconds to wait before answering
        self.redirect_to: str | None = None
        self.answer_body: bytes | None = None  # instead of a short JSON summary
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.requests)} of {count} requests arrived in {timeout}s"
                    )
                self.arrived.wait(left)
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else 200
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.arrived:  # recorded on arrival, answered after the delay
                receiver.requests.append(Received(self.path, headers, body, time.monotonic()))
                receiver.arrived.notify_all()
            if receiver.delay:
                time.sleep(receiver.delay)
            answer = receiver.answer_body or (
                f'{{"received": {len(receiver.requests)}, "status": {status}}}'.encode()
            )
            try:
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender stopped listening (its timeout, or it read enough)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(None))  # type: ignore[arg-type]
    box = Receiver(server)
    server.RequestHandlerClass = _handler(box)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
