"""Live updates that leave the person alone: focus stays where it is while events arrive,
the status line says only what changed, and nothing is announced while nothing happens."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import events as ev
from tests.support.live import PASSWORDS
from tests.web.pages import DESKTOP
from tests.web.site import ORDERS, RUNNING, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The durations tick every 100 ms instead of every second (app.js reads window.extciTickMs),
# so a short idle window runs the ticking code many times; their text still changes once a
# second, which the test checks happened, outside every live region.
TICK_MS = 100
IDLE_SECONDS = 3.0

# Mutations inside anything a screen reader announces, and ticks of running durations.
WATCH = """() => {
  const LIVE = '[aria-live]:not([aria-live="off"]), [role=status], [role=alert], [role=log], '
    + '[role=marquee], [role=timer], output';
  window.__calm = { announced: [], ticked: 0 };
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!el) { continue; }
      const region = el.closest(LIVE);
      if (region) {
        const said = region.textContent.trim();
        window.__calm.announced.push((region.id || region.tagName) + ": " + said);
      } else if (el.closest("[data-since]")) {
        window.__calm.ticked++;
      }
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def watched_page(browser: Browser, site: Site, path: str) -> Page:
    context = browser.new_context(base_url=site.server.url, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(10_000)
    context.add_init_script(f"window.extciTickMs = {TICK_MS};")
    page = context.new_page()
    page.goto("/sign-in")
    page.locator("#username").fill("viewer")
    page.locator("#password").fill(PASSWORDS["viewer"])
    page.locator("#password").press("Enter")
    expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()
    page.goto(path)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected")
    page.evaluate(WATCH)
    return page


def hold_focus(page: Page, selector: str) -> None:
    page.locator(selector).focus()
    page.evaluate("() => { window.__held = document.activeElement; }")


def still_held(page: Page) -> bool:
    return bool(
        page.evaluate("() => window.__held.isConnected && document.activeElement === window.__held")
    )


def calm(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate("() => window.__calm")
    return found


def test_focus_stays_and_only_real_changes_are_announced(
    playwright_browser: Browser, site: Site
) -> None:
    history = watched_page(playwright_browser, site, f"/components/{ORDERS}")
    running = watched_page(playwright_browser, site, site.build_url(RUNNING[0]))
    try:
        # A person on a version link in the history while a new build runs and ends.
        hold_focus(history, 'tr[data-pipeline="orders-1842"] a')
        site.send(ev.start("orders-1850", ORDERS, "1.6.0", pipelineName="orders/main"))
        row = history.locator('tr[data-pipeline="orders-1850"]')
        expect(row).to_have_attribute("data-status", "BUILDING")
        expect(history.locator("#live-status")).to_have_text("Build 1.6.0 started")
        assert still_held(history), history.evaluate("document.activeElement.outerHTML")

        # Another on the new build's page, on "Open the run in CI".
        build = watched_page(playwright_browser, site, site.build_url("orders-1850"))
        hold_focus(build, "#build-status a")
        site.send(ev.result("orders-1850", *ev.deployable()))
        expect(row.locator(".chip-helm")).to_be_visible()
        site.send(ev.end("orders-1850"))
        expect(row).to_have_attribute("data-status", "SUCCESSFUL")
        expect(build.locator("#build-status")).to_contain_text("SUCCESSFUL")
        for page in (history, build):
            expect(page.locator("#live-status")).to_have_text("Build 1.6.0 ended SUCCESSFUL")
            assert still_held(page), page.evaluate("document.activeElement.outerHTML")
        assert calm(history)["announced"] == [
            "live-status: Build 1.6.0 started",
            "live-status: Build 1.6.0 ended SUCCESSFUL",
        ]
        assert calm(build)["announced"] == ["live-status: Build 1.6.0 ended SUCCESSFUL"]
        build.context.close()

        # Idle, with two builds running: durations tick, nothing is announced.
        for page in (history, running):
            page.evaluate("() => { window.__calm.announced = []; window.__calm.ticked = 0; }")
        time.sleep(IDLE_SECONDS)
        on_history, on_build = calm(history), calm(running)
        print(
            f"\nidle {IDLE_SECONDS} s, tick {TICK_MS} ms: announcements "
            f"{len(on_history['announced'])} (history) + {len(on_build['announced'])} (build); "
            f"duration changes {on_history['ticked']} (history) + {on_build['ticked']} (build)"
        )
        assert on_history["announced"] == []
        assert on_build["announced"] == []
        # Both running builds in the history and the build page's own duration did tick.
        assert on_history["ticked"] >= len(RUNNING) * (IDLE_SECONDS - 1)
        assert on_build["ticked"] >= IDLE_SECONDS - 1
        assert still_held(history)
    finally:
        history.context.close()
        running.context.close()
