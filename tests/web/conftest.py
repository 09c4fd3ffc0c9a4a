"""Browser tests: Debian's Chromium driven by Playwright against live server processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.live import LiveServer, browser_server
from tests.web.pages import new_page
from tests.web.site import Site, start_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = browser_server(tmp_path)
    try:
        live.launch()  # migrates the fresh database
        live.create_users()
        yield live
    finally:
        live.stop()


@pytest.fixture
def open_page(playwright_browser: Browser, server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Pages in contexts of their own, closed before the server stops (their live
    connections would otherwise hold its graceful shutdown)."""
    contexts: list[BrowserContext] = []

    def open_(on: LiveServer | None = None, *, mobile: bool = False) -> Page:
        page = new_page(playwright_browser, on or server, mobile=mobile)
        contexts.append(page.context)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One populated server for the accessibility and keyboard tests (tests/web/site.py).
    Each test leaves it as the next one expects: what it adds has names of its own."""
    require_chromium()
    seeded = start_site(tmp_path_factory.mktemp("site"))
    try:
        yield seeded
    finally:
        seeded.server.stop()
