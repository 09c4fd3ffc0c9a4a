"""Each error class a server can give prints one line saying what to do, with its
documented exit code (in-process against a stub server: no interpreter start per case)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from extci.cli.main import main
from tests.support.live import free_port

# path -> (status, extra headers, body)
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {}


def problem(status: int, detail: str) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": "x", "status": status, "detail": detail}
    ).encode()


class Stub(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        status, headers, body = ANSWERS[self.path.split("?")[0]]
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("EXTCI_TOKEN", "extci_pat_x")


CASES = [
    (
        "/api/v1/components",
        (401, {}, problem(401, "The token is invalid or expired.")),
        77,
        "The token is invalid or expired. (log in again: extci login --server http://{host})",
    ),
    (
        "/api/v1/components",
        (403, {}, problem(403, "This needs the editor role; 'vera' is viewer.")),
        77,
        "This needs the editor role; 'vera' is viewer. "
        "(ask an admin of the server for a role that allows this)",
    ),
    (
        "/api/v1/components",
        (404, {}, problem(404, "Component 'x' does not exist.")),
        66,
        "Component 'x' does not exist.",
    ),
    (
        "/api/v1/components",
        (409, {}, problem(409, "Component 'x' already exists.")),
        65,
        "Component 'x' already exists.",
    ),
    (
        "/api/v1/components",
        (429, {"Retry-After": "7"}, problem(429, "Too many requests.")),
        75,
        "Too many requests. (wait 7 s and try again)",
    ),
    (
        "/api/v1/components",
        (503, {}, b"<html>down for maintenance</html>"),
        75,
        "http://{host} answered 503 Service Unavailable (try again later)",
    ),
    (
        "/api/v1/components",
        (500, {}, problem(500, "Something went wrong.")),
        70,
        "Something went wrong.",
    ),
    (
        "/api/v1/components",
        (200, {}, b"<html>a login page</html>"),
        76,
        "http://{host}/api/v1/components?limit=200 answered 200 OK without the API's JSON; "
        "is http://{host} an extci server?",
    ),
    (
        "/api/v1/components",
        (302, {"Location": "https://elsewhere/"}, b""),
        76,
        "http://{host}/api/v1/components?limit=200 redirected (302) to https://elsewhere/; "
        "use the final address as the server URL",
    ),
]


@pytest.mark.parametrize(("route", "answer", "code", "line"), CASES)
def test_an_error_answer_is_one_line(
    stub: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    route: str,
    answer: tuple[int, dict[str, str], bytes],
    code: int,
    line: str,
) -> None:
    ANSWERS[route] = answer
    monkeypatch.setenv("EXTCI_URL", f"http://{stub}")
    assert main(["components", "list"]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "extci: " + line.format(host=stub) + "\n"


def test_unreachable_and_tls_failures(
    stub: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXTCI_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["components", "list"]) == 75
    err = capsys.readouterr().err
    assert err.startswith("extci: cannot reach http://127.0.0.1:")
    assert err.endswith(
        "(is the server running and the URL right? check EXTCI_URL or extci login)\n"
    )
    assert err.count("\n") == 1

    monkeypatch.setenv("EXTCI_URL", f"https://{stub}")  # TLS to a plain-HTTP server
    assert main(["builds", "list", "x"]) == 69
    err = capsys.readouterr().err
    assert err.startswith(f"extci: TLS failed with https://{stub}: ")
    assert err.count("\n") == 1


def test_a_url_that_is_not_http_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXTCI_URL", "ftp://example.org")
    assert main(["components", "list"]) == 2
    assert capsys.readouterr().err == (
        "extci: the server URL must start with http:// or https://: ftp://example.org\n"
    )
