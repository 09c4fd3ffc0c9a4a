"""Delivery: retries, backoff, Retry-After and readable errors, against real sockets."""

from __future__ import annotations

import email.utils
import json
import socket
import time

import pytest

from extci.reporter.transport import backoff, format_problem, parse_answer, retry_after_seconds
from tests.reporter.httpfakes import OK, Canned, Servers, unavailable
from tests.reporter.reporter_helpers import base_env, run_extci

KEY = "ck_test_secret_value"
PROBLEM = "application/problem+json"


def env_for(url: str) -> dict[str, str]:
    return base_env(
        EXTCI_URL=url, EXTCI_CI_KEY=KEY, EXTCI_COMPONENT="orders", EXTCI_PIPELINE_ID="orders-1"
    )


def test_503_with_retry_after_twice_then_200_makes_three_identical_requests(
    servers: Servers,
) -> None:
    server = servers.scripted([unavailable("1"), unavailable("1"), OK])
    began = time.monotonic()
    done = run_extci(["report", "start", "--version", "1.0.0"], env_for(server.url))
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 3
    assert elapsed >= 2.0  # both Retry-After: 1 were honoured
    assert len({r.body for r in server.requests}) == 1  # the very same bytes every time
    first = server.requests[0]
    assert first.path == "/ci/webhook"
    assert first.headers["Content-Type"] == "application/vnd.codenow.v1+json"
    assert first.headers["Accept"] == "application/vnd.codenow.v1+json"
    assert first.headers["X-Codenow-Api-Key"] == KEY
    assert json.loads(first.body)["type"] == "codenow.ci.start.event"
    assert "retrying" in done.stderr
    assert KEY not in done.stderr + done.stdout


def test_429_is_retried(servers: Servers) -> None:
    limited = Canned(429, b"", {"Retry-After": "0"})
    server = servers.scripted([limited, OK])
    done = run_extci(["report", "end", "--result", "SUCCESSFUL"], env_for(server.url))
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 2


def test_400_is_not_retried_and_is_printed_readably(servers: Servers) -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid event",
        "status": 400,
        "detail": "The event does not match the contract.",
        "errors": [{"pointer": "/payload/0/commitSha", "detail": "field required"}],
    }
    server = servers.scripted([Canned.json(400, problem, PROBLEM)])
    done = run_extci(["report", "result", "git-tag", "--tag", "v1"], env_for(server.url))
    assert done.returncode == 65
    assert len(server.requests) == 1
    assert "HTTP 400 Invalid event" in done.stderr
    assert "The event does not match the contract." in done.stderr
    assert "/payload/0/commitSha: field required" in done.stderr


@pytest.mark.parametrize(
    ("status", "code"), [(401, 77), (403, 77), (404, 65), (409, 65), (500, 70)]
)
def test_other_errors_are_not_retried(servers: Servers, status: int, code: int) -> None:
    server = servers.scripted([Canned.json(status, {"title": "No", "status": status}, PROBLEM)])
    done = run_extci(["report", "end", "--result", "FAILED"], env_for(server.url))
    assert (done.returncode, len(server.requests)) == (code, 1)


def test_a_redirect_is_not_followed(servers: Servers) -> None:
    server = servers.scripted([Canned(307, b"", {"Location": "https://elsewhere.example.org/"})])
    done = run_extci(["report", "end", "--result", "FAILED"], env_for(server.url))
    assert done.returncode == 76
    assert "redirected" in done.stderr


def test_a_non_json_answer_is_a_protocol_error(servers: Servers) -> None:
    server = servers.scripted([Canned(200, b"<html>login</html>", {"Content-Type": "text/html"})])
    done = run_extci(["report", "end", "--result", "FAILED"], env_for(server.url))
    assert done.returncode == 76


def test_connection_errors_are_retried_within_the_retry_budget() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    began = time.monotonic()
    done = run_extci(
        ["report", "end", "--retry-for", "1.5s", "--result", "FAILED"],
        env_for(f"http://127.0.0.1:{port}"),
    )
    elapsed = time.monotonic() - began
    assert done.returncode == 75
    assert "cannot reach" in done.stderr
    assert "gave up" in done.stderr
    assert elapsed < 10


def test_a_retry_after_beyond_the_budget_gives_up_at_once(servers: Servers) -> None:
    server = servers.scripted([unavailable("120")])
    done = run_extci(
        ["report", "end", "--result", "FAILED"], env_for(server.url) | {"EXTCI_RETRY_FOR": "5s"}
    )
    assert done.returncode == 75
    assert len(server.requests) == 1
    # It did not wait: every wait is announced first ("…; retrying in 120.0s").
    assert "gave up retrying" in done.stderr
    assert "retrying in" not in done.stderr


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    value = retry_after_seconds(later)
    assert value is not None
    assert 25 <= value <= 31


def test_backoff_grows_is_jittered_and_respects_the_server() -> None:
    samples = [backoff(3, None) for _ in range(200)]
    assert all(0 <= s <= 4.0 for s in samples)
    assert len(set(samples)) > 100  # jitter
    assert all(backoff(0, 5.0) >= 5.0 for _ in range(20))
    assert all(backoff(20, None) <= 30.0 for _ in range(20))  # capped


def test_format_problem_without_json() -> None:
    assert (
        format_problem(502, "Bad Gateway", b"upstream down")
        == "HTTP 502 Bad Gateway: upstream down"
    )


def test_a_chunked_answer_is_read_whole() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b'4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    )
    status, reason, headers, body = parse_answer(raw)
    assert (status, reason, body) == (200, "OK", b'{"a":1}')
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "raw",
    [b"HTTP/1.1 200 OK\r\nContent-Le", b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n10\r\nshort"],
)  # fmt: skip
def test_an_incomplete_or_foreign_answer_is_a_connection_error(raw: bytes) -> None:
    with pytest.raises(ConnectionError):
        parse_answer(raw)
