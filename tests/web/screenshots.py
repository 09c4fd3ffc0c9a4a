"""`make screenshots`: the PNGs in docs/screenshots, from a live server populated by
tests/web/site.py, in Chromium at 1280 px and at 390 px (a phone). Tests never write tracked
files; run this after a change to the UI and commit the pictures.

    python -m tests.web.screenshots docs/screenshots
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.live import PASSWORDS
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.pages import DESKTOP, MOBILE
from tests.web.site import ORDERS, RUNNING, Site, start_site

STAMP = "%Y-%m-%d %H:%M:%S.%f"


def spread_in_time(site: Site) -> None:
    """The seeded builds ran within a second; spread them over the last days so the
    pictures show plausible start times and durations."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with sqlite3.connect(site.database) as db:
        rows = db.execute("SELECT id, pipeline_id FROM builds ORDER BY id DESC").fetchall()
        for age, (build_id, pipeline_id) in enumerate(rows):
            if pipeline_id in RUNNING:
                started = now - timedelta(minutes=2 + age * 3, seconds=17)
                db.execute(
                    "UPDATE builds SET started_at = ? WHERE id = ?",
                    (started.strftime(STAMP), build_id),
                )
                continue
            started = now - timedelta(hours=3 + age * 7, minutes=age * 13)
            ended = started + timedelta(minutes=4 + age % 5, seconds=11 * age)
            db.execute(
                "UPDATE builds SET started_at = ?,"
                " ended_at = CASE WHEN ended_at IS NULL THEN NULL ELSE ? END WHERE id = ?",
                (started.strftime(STAMP), ended.strftime(STAMP), build_id),
            )


def signed_in(browser: Browser, site: Site, role: str, *, phone: bool = False) -> Page:
    context = browser.new_context(
        base_url=site.server.url,
        viewport=MOBILE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        timezone_id="Europe/Prague",
        locale="en-GB",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/sign-in")
    page.locator("#username").fill(role)
    page.locator("#password").fill(PASSWORDS[role])
    page.locator("#password").press("Enter")
    expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()
    return page


def shoot(page: Page, out: Path, name: str, *, full: bool = False) -> None:
    page.wait_for_load_state("load")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=out / f"{name}.png", full_page=full, animations="disabled")
    print(out / f"{name}.png")


def desktop(browser: Browser, site: Site, out: Path) -> None:
    anonymous = browser.new_page(viewport=DESKTOP, base_url=site.server.url, locale="en-GB")
    anonymous.goto("/sign-in")
    anonymous.locator("#username").fill("editor")
    anonymous.locator("#password").fill("not-the-password")
    anonymous.locator("#password").press("Enter")
    expect(anonymous.locator("#sign-in-error")).to_be_visible()
    shoot(anonymous, out, "sign-in")
    anonymous.close()

    page = signed_in(browser, site, "editor")
    shoot(page, out, "components", full=True)
    page.goto(f"/components/{ORDERS}")
    shoot(page, out, "component", full=True)
    page.locator("#generate-key").click()
    page.locator("#key-name").fill("github-actions")
    page.locator("#key-dialog").get_by_role("button", name="Generate key").click()
    expect(page.locator("#key-created")).to_be_visible()
    page.screenshot(path=out / "key-generated.png")
    print(out / "key-generated.png")
    page.get_by_role("button", name="Copy").click()
    page.keyboard.press("Escape")
    page.goto(site.build_url("orders-1842"))
    shoot(page, out, "build-detail", full=True)
    page.goto(site.build_url("orders-1843"))
    shoot(page, out, "build-incomplete", full=True)
    page.context.close()

    admin = signed_in(browser, site, "admin")
    admin.goto("/users")
    shoot(admin, out, "users", full=True)
    admin.goto("/audit")
    shoot(admin, out, "audit")
    admin.context.close()


def phone(browser: Browser, site: Site, out: Path) -> None:
    page = signed_in(browser, site, "editor", phone=True)
    shoot(page, out, "mobile-components")
    page.goto(f"/components/{ORDERS}")
    shoot(page, out, "mobile-component")
    key = site.key_ids["gitlab-ci"]
    page.locator(f'[data-dialog="delete-{key}"]').focus()
    page.keyboard.press("Enter")  # by keyboard: the ring shows where it opens (Cancel)
    expect(page.locator(f"#delete-{key}")).to_be_visible()
    page.screenshot(path=out / "mobile-delete-key.png")
    print(out / "mobile-delete-key.png")
    page.keyboard.press("Escape")
    page.goto(site.build_url("orders-1843"))
    shoot(page, out, "mobile-build-detail")
    page.context.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = start_site(Path(tmp))
        try:
            spread_in_time(site)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    desktop(browser, site, out)
                    phone(browser, site, out)
                finally:
                    browser.close()
        finally:
            site.server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
