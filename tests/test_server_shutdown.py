"""``extci serve`` stops gracefully within EXTCI_SHUTDOWN_GRACE_PERIOD, open live streams too."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import httpx2 as httpx

from extci.config import Settings
from extci.server import server_options
from tests.support.live import LiveServer
from tests.support.signin import signed_in_client

PASSWORD = "correct horse battery"


def test_server_options_follow_the_settings() -> None:
    options = server_options(
        Settings(
            shutdown_grace_period="3s",
            keep_alive_timeout="7s",
            max_connections=42,
            header_read_timeout="2s",
            body_read_timeout="4s",
        )
    )
    assert options["timeout_graceful_shutdown"] == 3
    assert options["timeout_keep_alive"] == 7
    assert options["limit_concurrency"] == 42
    assert options["proxy_headers"] is False
    protocol = options["http"]
    assert (protocol.header_timeout, protocol.body_timeout, protocol.max_connections) == (2, 4, 42)


def test_sigterm_ends_open_live_streams_after_the_grace_period(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "server", extra_env={"EXTCI_SHUTDOWN_GRACE_PERIOD": "1"}).start()
    try:
        server.external_component("orders")
        browser = signed_in_client(server.url, "tester", PASSWORD)
        opened, ended = threading.Event(), threading.Event()

        def watch() -> None:
            try:
                with browser.stream("GET", "/components/orders/live") as response:
                    for line in response.iter_lines():
                        if line == "event: ready":
                            opened.set()
            except httpx.HTTPError:
                pass  # the server closing mid-stream is what we wait for
            ended.set()

        threading.Thread(target=watch, daemon=True).start()
        assert opened.wait(30)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        # The stream never ends by itself: only the grace period running out ends it.
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert ended.wait(30)
        log = server.log_path.read_text()
        assert "timeout graceful shutdown exceeded" in log
        assert "Application shutdown complete" in log
    except subprocess.TimeoutExpired:
        raise AssertionError("the server did not stop") from None
    finally:
        server.stop()
