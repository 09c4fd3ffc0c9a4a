"""Two server processes on one PostgreSQL: an event received by one reaches a page served by
the other (LISTEN/NOTIFY), pushed over the page's open live stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support import events as ev
from tests.support.databases import PostgresDatabase, require_postgres
from tests.support.live import browser_server
from tests.web.pages import live_stream_requests, new_page, sign_in

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
    receiver = browser_server(tmp_path, database_url=fresh_postgres, log_name="a.log")
    viewer_side = browser_server(tmp_path, database_url=fresh_postgres, log_name="b.log")
    receiver.create_users()
    receiver.cli("components", "create", "orders-service", "--kind", "application-component")
    receiver.cli("components", "ci-mode", "orders-service", "external")
    key = receiver.cli("keys", "create", "orders-service", "--name", "ci").splitlines()[-1]
    receiver.launch()
    viewer_side.launch()
    page = new_page(playwright_browser, viewer_side)
    try:
        sign_in(page, "viewer")
        page.goto("/components/orders-service")
        expect(page.locator("body")).to_have_attribute("data-live-state", "connected")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        reconnects = live_stream_requests(page)
        for event, status in [
            (ev.start("orders-1", "orders-service"), "BUILDING"),
            (ev.end("orders-1", "CANCELED"), "CANCELLED"),
        ]:
            response = receiver.send(event, key)
            assert response.status_code == 200, response.text
            page.wait_for_selector(
                f'tr[data-pipeline="orders-1"][data-status="{status}"]', timeout=30_000
            )
        # Neither a reload nor a reconnect's catch-up: the other process's NOTIFY did it.
        assert navigations == [], f"the page reloaded: {navigations}"
        assert reconnects == [], f"the live stream reconnected: {reconnects}"
    finally:
        page.context.close()
        receiver.stop()
        viewer_side.stop()
