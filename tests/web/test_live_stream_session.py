"""The live updates stream (``/components/{id}/live``) ends when its web session ends:
signed out, or signed out everywhere by a new password. Against a live ``extci serve``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx2 as httpx
import pytest

from extci.web.pages.live import SESSION_RECHECK_SECONDS
from tests.support import events as ev
from tests.support.live import LiveServer
from tests.support.signin import csrf_token, signed_in_client

PASSWORD = "correct horse battery"
# Far beyond the re-check interval: only a stream that never ends runs into it.
DEADLINE = 60.0


class Stream:
    """Reads a server-sent events stream on a thread, recording each event's name."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        self.events: list[str] = []
        self.ended = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(client, path), daemon=True)
        self._thread.start()

    def _read(self, client: httpx.Client, path: str) -> None:
        try:
            with client.stream("GET", path, timeout=httpx.Timeout(DEADLINE)) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        with self._changed:
                            self.events.append(line.removeprefix("event: "))
                            self._changed.notify_all()
        finally:
            self.ended.set()

    def wait_for(self, event: str) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: event in self.events, DEADLINE), self.events


@pytest.fixture
def watching(live_server: LiveServer) -> Iterator[tuple[httpx.Client, Stream, Callable[[], None]]]:
    """A signed-in browser watching a component's live updates; proves the stream delivers
    (a build event) and outlives a re-check while the session lasts."""
    key = live_server.external_component("orders")
    browser = signed_in_client(live_server.url, "tester", PASSWORD)
    stream = Stream(browser, "/components/orders/live")
    stream.wait_for("ready")

    def build_event() -> None:
        pipeline = f"p-{len(stream.events)}"
        headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
        sent = httpx.post(
            f"{live_server.url}/ci/webhook", json=ev.start(pipeline, "orders"), headers=headers
        )
        assert sent.status_code == 200, sent.text

    time.sleep(SESSION_RECHECK_SECONDS + 1)  # at least one re-check has passed
    build_event()
    stream.wait_for("build")
    assert not stream.ended.is_set()
    yield browser, stream, build_event
    browser.close()


def test_signing_out_ends_the_live_stream(
    live_server: LiveServer, watching: tuple[httpx.Client, Stream, Callable[[], None]]
) -> None:
    browser, stream, _ = watching
    token = csrf_token(browser.get("/components").text)
    signed_out = browser.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert stream.ended.wait(DEADLINE), "the stream kept going after sign-out"


def test_a_new_password_ends_the_live_stream(
    live_server: LiveServer, watching: tuple[httpx.Client, Stream, Callable[[], None]]
) -> None:
    _, stream, build_event = watching
    live_server.request("PATCH", "/api/v1/users/tester", {"password": "another good password"})
    assert stream.ended.wait(DEADLINE), "the stream kept going after the password changed"
    builds_seen = stream.events.count("build")
    build_event()  # nothing more reaches the ended stream
    assert stream.events.count("build") == builds_seen


def test_deactivating_the_user_ends_the_live_stream(live_server: LiveServer) -> None:
    live_server.external_component("orders")
    live_server.cli(
        "users", "create", "vera", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n"
    )
    browser = signed_in_client(live_server.url, "vera", PASSWORD)
    try:
        stream = Stream(browser, "/components/orders/live")
        stream.wait_for("ready")
        live_server.request("PATCH", "/api/v1/users/vera", {"active": False})
        assert stream.ended.wait(DEADLINE), "the stream kept going after deactivation"
    finally:
        browser.close()
