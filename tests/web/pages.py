"""What a person does in the browser, as small helpers the tests read like prose."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.web.live_server import PASSWORDS, LiveServer

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
MOBILE: ViewportSize = {"width": 390, "height": 844}


def new_page(browser: Browser, server: LiveServer, *, mobile: bool = False) -> Page:
    context = browser.new_context(
        base_url=server.url,
        viewport=MOBILE if mobile else DESKTOP,
        is_mobile=mobile,
        device_scale_factor=2 if mobile else 1,
        permissions=["clipboard-read", "clipboard-write"],
        timezone_id="Europe/Prague",
        locale="en-GB",
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(page: Page, username: str, password: str | None = None) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()


def csrf_token(page: Page) -> str:
    token = page.locator("form[action='/sign-out'] input[name=csrf_token]").input_value()
    assert token
    return token
