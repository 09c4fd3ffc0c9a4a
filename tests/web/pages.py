"""What a person does in the browser, as small helpers the tests read like prose."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.live import PASSWORDS, LiveServer

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


def live_stream_requests(page: Page) -> list[str]:
    """Every request the page makes for its live event stream from now on. Once the page is
    connected, none means that what changed on it came over that one open stream: a
    reconnect opens another and reloads the live regions to catch up."""
    path = page.locator("body").get_attribute("data-live")
    assert path, "the page has no live stream"
    opened: list[str] = []

    def seen(url: str) -> None:
        if urlsplit(url).path == path:
            opened.append(url)

    page.on("request", lambda request: seen(request.url))
    return opened


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
