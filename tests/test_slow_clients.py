"""Slow clients against a live ``extci serve`` (raw sockets): header and body read
timeouts, the bound on open connections (EXTCI_HEADER_READ_TIMEOUT,
EXTCI_BODY_READ_TIMEOUT, EXTCI_MAX_CONNECTIONS), and requests shed because they waited
too long before the process could take them."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support import events as ev
from tests.support.live import LiveServer
from tests.support.wire import read_message

# Generous: the server must close well before this, whatever the machine's load.
WAIT = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("slow") / "server",
        extra_env={"EXTCI_HEADER_READ_TIMEOUT": "1", "EXTCI_BODY_READ_TIMEOUT": "1"},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout here
    means the server kept the connection open)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length (head and body)."""
    head, body = read_message(sock)
    return head + b"\r\n\r\n" + body


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        assert read_until_closed(sock) == b""


def test_half_a_header_is_not_waited_for(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert read_until_closed(sock) == b""


def test_headers_sent_a_byte_at_a_time_get_no_more_time(server: LiveServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"a" * 200
    with connect(server) as sock:
        sent = 0
        # Broken pipe or reset once the server has closed.
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for byte in request:
                sock.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.05)  # 200 ms/4 bytes: every byte is "progress"
            read_until_closed(sock)  # all sent without the server closing: fail below
            pytest.fail("the server waited for a trickled header to the end")
        assert sent < len(request)


def test_a_request_in_time_is_served_and_the_connection_kept(server: LiveServer) -> None:
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            response = read_response(sock)
            assert response.startswith(b"HTTP/1.1 200 "), response


def webhook_head(key: str | None, length: int) -> bytes:
    lines = [
        "POST /ci/webhook HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {ev.V1}",
        f"Content-Length: {length}",
    ]
    if key:
        lines.append(f"X-Codenow-Api-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_half_a_body_answers_408_and_stores_nothing(server: LiveServer) -> None:
    key = server.external_component("half-body")
    body = json.dumps(ev.start("p-half", "half-body")).encode()
    with connect(server) as sock:
        sock.sendall(webhook_head(key, len(body)) + body[: len(body) // 2])
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert b"application/problem+json" in answer
    assert server.builds("half-body") == []


def test_a_body_nobody_reads_must_still_arrive_in_time(server: LiveServer) -> None:
    # No key: 401 before the body is read. The rest of the body then trickles in.
    with connect(server) as sock:
        sock.sendall(webhook_head(None, 200) + b'{"type": ')
        assert read_response(sock).startswith(b"HTTP/1.1 401 ")
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(190):
                sock.sendall(b" ")
                time.sleep(0.05)
            read_until_closed(sock)
            pytest.fail("the server waited for a trickled body nobody reads")


def test_open_connections_are_bounded(tmp_path_factory: pytest.TempPathFactory) -> None:
    live = LiveServer(
        tmp_path_factory.mktemp("bounded") / "server",
        extra_env={"EXTCI_MAX_CONNECTIONS": "4", "EXTCI_HEADER_READ_TIMEOUT": "60"},
    )
    live.start()
    try:
        with ExitStack() as idle:
            for _ in range(4):
                idle.enter_context(connect(live)).sendall(b"GET /healthz HTTP/1.1\r\n")
            with connect(live) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = read_until_closed(sock)  # a reset here would fail the test
            # Refused with a canned 503 that says when to retry, read whole: the server
            # shuts its side and drops what the client sends instead of resetting.
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert b"\r\nRetry-After: 1\r\n" in answer, answer
        # The idle ones are gone: the server answers again (once it has seen them close).
        answers = []
        for _ in range(100):
            with connect(live) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answers.append(read_until_closed(sock)[:12])
            if answers[-1] == b"HTTP/1.1 200":
                break
            time.sleep(0.1)
        assert answers[-1] == b"HTTP/1.1 200", answers
    finally:
        live.stop()


def test_a_request_that_waited_too_long_to_be_taken_is_shed(server: LiveServer) -> None:
    """The process is stopped (as if every core were busy) while a request and a health
    probe arrive: when it runs again, the request, already 0.8 s old, gets a canned 503
    with Retry-After (read whole, no reset); the probe is never shed; and once the process
    has caught up, requests are served again."""
    request = b"GET /api/v1/components HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    probe = b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    os.kill(server.pid, signal.SIGSTOP)
    try:
        late, late_probe = connect(server), connect(server)  # the kernel accepts them
        late.sendall(request)
        late_probe.sendall(probe)
        time.sleep(0.8)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    with late, late_probe:
        shed = read_until_closed(late)
        assert shed.startswith(b"HTTP/1.1 503 "), shed
        assert b"\r\nRetry-After: 1\r\n" in shed, shed
        assert b"busy" in shed, shed
        assert read_until_closed(late_probe).startswith(b"HTTP/1.1 200 ")
    answers = []
    for _ in range(50):  # a new request is not shed: it has not waited
        with connect(server) as sock:
            sock.sendall(request)
            answers.append(read_until_closed(sock)[:12])
        if answers[-1] != b"HTTP/1.1 503":
            break
        time.sleep(0.05)
    assert answers[-1] == b"HTTP/1.1 401", answers  # served (no credentials: 401)
    assert "overloaded: " in server.log_path.read_text()
