"""The reporter against the faults a network and a reverse proxy produce, from a tiny real
server on 127.0.0.1 (a socket per connection, no mock of the HTTP layer): a connection
dropped before the answer, a server that never answers (the request times out), 502 and 504.
Each is retried with the very same bytes until an answer comes; when none comes within
``--retry-for`` the reporter gives up with 75 (EX_TEMPFAIL), as docs/ci-setup.md says.
A 500 is a server bug and is not retried (test_report_transport.py)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from tests.reporter.reporter_helpers import base_env, run_extci
from tests.support.wire import read_message

KEY = "ck_test_secret_value"
UNAVAILABLE = 75

OK = {"pipelineId": "orders-1", "componentId": "orders", "buildStatus": "BUILDING"}

# What the server does with one connection.
DROP = "drop"  # read the request, close without a word
RESET = "reset"  # read the request, close with a TCP reset
HANG = "hang"  # read the request, answer nothing until the client gives up


def http(status: int, reason: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


# The answers of nginx in front of an upstream that is down (502) or too slow (504).
BAD_GATEWAY = http(502, "Bad Gateway", b"<html>502 Bad Gateway</html>", "text/html")
GATEWAY_TIMEOUT = http(504, "Gateway Timeout", b"<html>504 Gateway Timeout</html>", "text/html")
ANSWER = http(200, "OK", json.dumps(OK).encode(), "application/json")


@dataclass(frozen=True)
class Received:
    body: bytes


class FaultyServer:
    """Connection N gets ``script[N]`` (the last entry repeats): a fault, or raw bytes."""

    def __init__(self, script: Sequence[str | bytes]) -> None:
        self.script = list(script)
        self.received: list[Received] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._open.append(conn)
            step = self.script[min(len(self.received), len(self.script) - 1)]
            self.received.append(Received(self._read_request(conn)))
            if step == HANG:
                continue  # kept open, unanswered, until close()
            if step == RESET:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif isinstance(step, bytes):
                conn.sendall(step)
            conn.close()

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        conn.settimeout(10)
        return read_message(conn)[1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._open:
            conn.close()
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[type[FaultyServer]]:
    started: list[FaultyServer] = []

    class Started(FaultyServer):
        def __init__(self, script: Sequence[str | bytes]) -> None:
            super().__init__(script)
            started.append(self)

    yield Started
    for server in started:
        server.close()


def report_end(url: str, *flags: str) -> tuple[int, str]:
    env = base_env(
        EXTCI_URL=url, EXTCI_CI_KEY=KEY, EXTCI_COMPONENT="orders", EXTCI_PIPELINE_ID="orders-1"
    )
    done = run_extci(["report", "end", *flags, "--result", "SUCCESSFUL"], env)
    assert KEY not in done.stdout + done.stderr
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([DROP], id="dropped-connection"),
        pytest.param([RESET], id="reset-connection"),
        pytest.param([HANG], id="timeout"),
        pytest.param([BAD_GATEWAY], id="502"),
        pytest.param([GATEWAY_TIMEOUT], id="504"),
        pytest.param([DROP, HANG, BAD_GATEWAY, GATEWAY_TIMEOUT], id="one-of-each"),
    ],
)
def test_a_fault_is_retried_with_the_same_bytes_until_the_answer(
    serve: type[FaultyServer], faults: list[str | bytes]
) -> None:
    server = serve([*faults, ANSWER])
    code, stderr = report_end(server.url, "--timeout", "500ms", "--retry-for", "2m")
    assert code == 0, stderr
    assert len(server.received) == len(faults) + 1
    assert len({r.body for r in server.received}) == 1  # the very same event every time
    assert json.loads(server.received[0].body)["type"] == "codenow.ci.end.event"
    assert stderr.count("retrying") == len(faults)
    if faults == [RESET]:
        assert "reset" in stderr.lower()


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        pytest.param(DROP, "cannot reach", id="dropped-connection"),
        pytest.param(HANG, "cannot reach", id="timeout"),
        pytest.param(BAD_GATEWAY, "HTTP 502", id="502"),
        pytest.param(GATEWAY_TIMEOUT, "HTTP 504", id="504"),
    ],
)
def test_a_fault_that_lasts_past_the_retry_budget_exits_75(
    serve: type[FaultyServer], fault: str | bytes, said: str
) -> None:
    server = serve([fault])
    code, stderr = report_end(server.url, "--timeout", "200ms", "--retry-for", "1s")
    assert code == UNAVAILABLE, stderr
    assert said in stderr
    assert "gave up retrying" in stderr
    assert len(server.received) >= 1
    assert len({r.body for r in server.received}) == 1
