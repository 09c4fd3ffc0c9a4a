"""Two server processes on one PostgreSQL: an event received by one reaches a page served by
the other (LISTEN/NOTIFY), within the same one-second budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support import events as ev
from tests.support.databases import PostgresDatabase, require_postgres
from tests.web.live_server import LiveServer, create_users, extci, server_env
from tests.web.pages import new_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    require_postgres()
    database = PostgresDatabase()  # a database of its own, migrated
    try:
        yield database.url
    finally:
        database.drop()


def test_live_updates_cross_processes(
    playwright_browser: Browser, fresh_postgres: str, tmp_path: Path
) -> None:
    env = server_env(tmp_path, fresh_postgres)
    create_users(env)
    extci(env, "components", "create", "orders-service", "--kind", "application-component")
    extci(env, "components", "ci-mode", "orders-service", "external")
    key = extci(env, "keys", "create", "orders-service", "--name", "ci").splitlines()[-1]
    receiver = LiveServer(env, tmp_path / "a.log")
    viewer_side = LiveServer(env, tmp_path / "b.log")
    page = new_page(playwright_browser, viewer_side)
    try:
        sign_in(page, "viewer")
        page.goto("/components/orders-service")
        expect(page.locator("body")).to_have_attribute("data-live-state", "connected")
        for n, (event, status) in enumerate(
            [
                (ev.start("orders-1", "orders-service"), "BUILDING"),
                (ev.end("orders-1", "CANCELED"), "CANCELLED"),
            ]
        ):
            response = receiver.send(event, key)
            answered = time.monotonic()
            assert response.status_code == 200, response.text
            page.wait_for_selector(
                f'tr[data-pipeline="orders-1"][data-status="{status}"]', timeout=5_000
            )
            elapsed = time.monotonic() - answered
            assert elapsed < 1.0, f"event {n} reached the other process after {elapsed:.3f} s"
    finally:
        page.context.close()
        receiver.stop()
        viewer_side.stop()
