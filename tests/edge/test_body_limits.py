"""Every route bounds its body before reading it (issue: an anonymous 200 MiB body was read
and parsed whole before the 401). Driven over raw sockets against a real ``extci serve``:
a request that declares a huge body and never sends it is answered at once, which proves
the server did not wait to buffer it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import events as ev
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow
HUGE = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("limits")) / "server").start()
    try:
        yield live
    finally:
        live.stop()


def raw(server: LiveServer, head: str, body: bytes = b"", *, chunks: int = 0) -> tuple[int, str]:
    """Send a request head (and some body), then read the answer's status and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        for _ in range(chunks):  # chunked: keep sending 64 KiB chunks until answered
            try:
                s.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < 10:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            answer += part
    status_line, _, rest = answer.decode(errors="replace").partition("\r\n")
    return int(status_line.split()[1]), rest.partition("\r\n\r\n")[2]


def head(method: str, path: str, length: int | None, *extra: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    return "\n".join([*lines, *extra, ""])


def test_an_anonymous_huge_api_body_is_refused_without_being_read(server: LiveServer) -> None:
    status, body = raw(server, head("POST", "/api/v1/components", HUGE))
    assert status == 413
    assert "1048576" in json.loads(body)["detail"]


def test_an_anonymous_api_write_is_401_before_its_body_is_read(server: LiveServer) -> None:
    status, body = raw(server, head("POST", "/api/v1/components", 100))  # body never sent
    assert status == 401
    assert json.loads(body)["status"] == 401


def test_a_signed_in_api_body_over_one_mib_is_413(server: LiveServer) -> None:
    auth = f"Authorization: Bearer {server.token}"
    status, body = raw(server, head("POST", "/api/v1/components", 2 * 1024 * 1024, auth))
    assert status == 413
    assert json.loads(body)["status"] == 413


def test_a_chunked_api_body_is_cut_off_at_the_limit(server: LiveServer) -> None:
    auth = f"Authorization: Bearer {server.token}"
    status, body = raw(server, head("POST", "/api/v1/components", None, auth), chunks=64)
    assert status == 413, body
    assert server.request("GET", "/api/v1/components")["items"] == []


def test_a_form_body_over_64_kib_is_413(server: LiveServer) -> None:
    form = head("POST", "/sign-in", 100 * 1024).replace(
        "application/json", "application/x-www-form-urlencoded"
    )
    status, _ = raw(server, form)
    assert status == 413


def test_the_webhook_checks_the_key_before_the_size(server: LiveServer) -> None:
    """The contract's order: key (401) before size (413), then 413 with a valid key."""
    status, _ = raw(server, head("POST", "/ci/webhook", HUGE))
    assert status == 401
    key = server.external_component("limits-service")
    status, body = raw(server, head("POST", "/ci/webhook", HUGE, f"X-Codenow-Api-Key: {key}"))
    assert status == 413
    assert "262144" in json.loads(body)["detail"]
    small = json.dumps(ev.start("p1", "limits-service")).encode()
    status, _ = raw(
        server, head("POST", "/ci/webhook", len(small), f"X-Codenow-Api-Key: {key}"), small
    )
    assert status == 200


def test_a_client_that_hangs_up_mid_body_is_not_an_error(server: LiveServer) -> None:
    """A client gone mid-request is an ordinary event: nothing stored, nothing logged as a
    server error (it used to be "unexpected error" with a traceback)."""
    key = server.external_component("hangup-service")
    body = json.dumps(ev.start("p1", "hangup-service")).encode()
    before = server.log_path.read_text()
    for path, extra in (
        ("/ci/webhook", f"X-Codenow-Api-Key: {key}"),
        ("/api/v1/components", f"Authorization: Bearer {server.token}"),
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(head("POST", path, len(body) + 100, extra).replace("\n", "\r\n").encode())
            s.sendall(b"\r\n" + body[:40])
    assert server.builds("hangup-service") == []  # also proves the server still answers
    logged = server.log_path.read_text()[len(before) :]
    assert "unexpected error" not in logged
    assert "Traceback" not in logged
