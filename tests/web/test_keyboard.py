"""The editor's journey with the keyboard alone (Tab, Enter, Space, Escape): every action
reachable and operable, the focus ring visible at every stop (3:1 or better, from computed
colours), and focus placed sensibly after every dialog and page load."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.live import PASSWORDS
from tests.web.keyboard import assert_ring_visible, tab_to
from tests.web.pages import DESKTOP, MOBILE
from tests.web.site import ORDERS, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMPONENT = "kb-service"


def keyboard_page(browser: Browser, site: Site, *, phone: bool = False) -> Page:
    context = browser.new_context(
        base_url=site.server.url,
        viewport=MOBILE if phone else DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
        locale="en-GB",
        timezone_id="Europe/Prague",
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in_by_keyboard(page: Page) -> None:
    page.goto("/sign-in")
    expect(page.locator("#username")).to_be_focused()  # autofocus: type at once
    page.keyboard.type("editor")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    expect(page.locator("#sign-in-error")).to_have_text("Wrong username or password.")
    # Back on the password, which (like the username, still required) names the error.
    expect(page.locator("#password")).to_be_focused()
    for field in ("#username", "#password"):
        expect(page.locator(field)).to_have_attribute("aria-describedby", "sign-in-error")
        expect(page.locator(field)).to_have_attribute("required", "")
    page.keyboard.type(PASSWORDS["editor"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()


def test_the_editor_journey_by_keyboard(playwright_browser: Browser, site: Site) -> None:
    page = keyboard_page(playwright_browser, site)
    try:
        journey(page)
    finally:
        page.context.close()


def journey(page: Page) -> None:
    sign_in_by_keyboard(page)

    # The skip link comes first and lands in the main content.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    assert_ring_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    # Create a component: an id that exists puts focus on the id, with its error.
    tab_to(page, "#new-id")
    page.keyboard.type(ORDERS)
    tab_to(page, "#create button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#id-error")).to_be_visible()
    expect(page.locator("#new-id")).to_be_focused()
    assert page.url.endswith("/components#create")  # a reload does not re-send the form
    page.keyboard.press("Control+A")
    page.keyboard.type(COMPONENT)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(COMPONENT))).to_be_visible()
    expect(page.locator("#notice")).to_be_focused()  # "Component created." where the eye is
    assert "done=" not in page.url

    # The mode switch: Space opens the confirmation on Cancel; Escape returns to the opener.
    tab_to(page, "#mode-button")
    page.keyboard.press("Space")
    expect(page.locator("#mode-dialog")).to_be_visible()
    expect(page.locator("#mode-dialog button[value=cancel]")).to_be_focused()
    assert_ring_visible(page)
    page.keyboard.press("Escape")
    expect(page.locator("#mode-dialog")).to_be_hidden()
    expect(page.locator("#mode-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#mode-dialog button[value=cancel]")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#mode-dialog :focus")).to_have_text("Switch to External CI")
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("Switched to External CI")
    expect(page.locator("#notice")).to_be_focused()

    # Generate a key: focus on the name; an expiry in the past puts focus on the expiry.
    tab_to(page, "#generate-key")
    page.keyboard.press("Enter")
    expect(page.locator("#key-name")).to_be_focused()
    page.keyboard.type("kb-key")
    page.keyboard.press("Tab")
    page.locator("#key-expires").fill("2020-01-31")  # typing into a date field, by locale
    page.keyboard.press("Enter")
    expect(page.locator("#key-expires")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#key-expires")).to_be_focused()
    assert page.url.endswith(f"/components/{COMPONENT}#keys")
    page.locator("#key-expires").fill("")
    page.keyboard.press("Enter")

    # Shown once: focus on the key, selected; Escape asks first, a second one goes back.
    shown = page.locator("#key-created")
    expect(shown).to_be_visible()
    expect(page.locator("#new-key-value")).to_be_focused()
    assert page.evaluate("() => getSelection().toString() || document.activeElement.selectionEnd")
    page.keyboard.press("Escape")
    expect(shown.locator("[data-discard-prompt]")).to_be_visible()
    expect(page.locator("[data-back-to-key]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(shown).to_be_visible()
    expect(shown.locator("[data-discard-prompt]")).to_be_hidden()
    expect(page.locator("#new-key-value")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("[data-copy]")).to_be_focused()
    page.keyboard.press("Space")
    expect(shown.locator("[data-copy-status]")).to_contain_text("Copied")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret.startswith("extci_ci_")
    page.keyboard.press("Escape")  # copied: closes at once
    expect(shown).to_have_count(0)
    expect(page.locator("#keys-summary")).to_be_focused()
    assert secret not in page.content()

    # Suspend with Space: the page reloads with the notice in the keys section, focused.
    row = page.locator("#keys-table tbody tr").first
    tab_to(page, "#keys-table button[type=submit]")
    page.keyboard.press("Space")
    expect(page.locator("#keys #notice")).to_contain_text("suspended")
    expect(page.locator("#notice")).to_be_focused()
    notice_box = page.locator("#notice").bounding_box()
    assert notice_box is not None
    assert 0 <= notice_box["y"] < DESKTOP["height"], notice_box  # in view
    expect(row).to_contain_text("Suspended")
    assert "done=" not in page.url
    tab_to(page, "#keys-table button[type=submit]")  # now Resume
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("resumed")
    expect(page.locator("#notice")).to_be_focused()
    expect(row).to_contain_text("Active")

    # Delete starts on Cancel: Enter twice deletes nothing.
    tab_to(page, "#keys-table a[data-dialog]")
    page.keyboard.press("Enter")
    dialog = page.locator("#keys-table dialog[open]")
    expect(dialog).to_be_visible()
    expect(page.locator("#keys-table dialog[open] button[value=cancel]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.locator("#keys-table a[data-dialog]")).to_be_focused()
    expect(page.locator("#keys-table tbody tr")).to_have_count(1)
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#keys-table dialog[open] :focus")).to_have_text("Delete key")
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("CI key deleted")
    expect(page.locator("#notice")).to_be_focused()
    expect(page.locator("#keys-table")).to_have_count(0)

    # A trust policy, typed and sent from the keyboard.
    tab_to(page, "#trust-name")
    page.keyboard.type("github-main")
    page.keyboard.press("Tab")
    page.keyboard.type("https://token.actions.githubusercontent.com")
    tab_to(page, "#trust-claims")
    page.keyboard.type("repository=acme/kb")
    tab_to(page, "#trust-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#trust-table")).to_contain_text("github-main")

    # Folded sections open with Enter and Space; the example scrolls from the keyboard.
    tab_to(page, "#howto summary")
    howto = page.locator("#howto-fold")
    was_open = howto.evaluate("d => d.open")
    page.keyboard.press("Enter")
    assert howto.evaluate("d => d.open") != was_open
    page.keyboard.press("Space")
    assert howto.evaluate("d => d.open") == was_open
    if not was_open:
        page.keyboard.press("Enter")
    tab_to(page, "#curl-example")

    # Filter the history by keyboard: the page comes back at the history.
    page.goto(f"/components/{ORDERS}")
    tab_to(page, "#status-filter")
    page.keyboard.press("ArrowDown")  # "Building"
    tab_to(page, "#history button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=BUILDING"))
    expect(page.locator("#builds tbody tr").first).to_have_attribute("data-status", "BUILDING")
    page.keyboard.press("Tab")
    expect(page.locator("#history :focus")).to_have_count(1)

    # A build page by keyboard, and back; then sign out.
    page.goto(f"/components/{ORDERS}")
    tab_to(page, 'tr[data-pipeline="orders-1842"] a')
    page.keyboard.press("Enter")
    expect(page.locator("#build-status")).to_contain_text("SUCCESSFUL")
    tab_to(page, "#build-status a")
    tab_to(page, ".crumbs a[href='/components/orders-service']", backwards=True)
    page.keyboard.press("Enter")
    expect(page.locator("#history")).to_be_visible()
    tab_to(page, "form[action='/sign-out'] button", backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sign in to extci")).to_be_visible()


def test_a_phone_reaches_the_actions_too(playwright_browser: Browser, site: Site) -> None:
    """At 390 px: the header still says who is signed in, and every button is 44 px high."""
    page = keyboard_page(playwright_browser, site, phone=True)
    try:
        page.goto("/sign-in")
        expect(page.locator("#username")).to_be_focused()  # autofocus before the first key
        page.keyboard.type("editor")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORDS["editor"])
        page.keyboard.press("Enter")
        expect(page.locator(".who .user")).to_be_visible()
        expect(page.locator(".who .user")).to_contain_text("editor")
        page.goto(f"/components/{ORDERS}")
        small = page.evaluate(
            """() => [...document.querySelectorAll('main .button, .top .button, summary')]
                 .filter((b) => b.offsetParent !== null)
                 .map((b) => [b.textContent.trim().slice(0, 30), b.getBoundingClientRect().height])
                 .filter(([, h]) => h < 44)"""
        )
        assert small == [], small
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= MOBILE["width"], f"the page scrolls sideways ({width} px)"
    finally:
        page.context.close()


def test_an_admin_by_keyboard(playwright_browser: Browser, site: Site) -> None:
    """Deactivate and delete-token confirmations open on Cancel; Escape returns focus."""
    page = keyboard_page(playwright_browser, site)
    try:
        page.goto("/sign-in")
        expect(page.locator("#username")).to_be_focused()  # autofocus before the first key
        page.keyboard.type("admin")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORDS["admin"])
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()
        tab_to(page, ".top a[href='/users']")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        opener = '[data-dialog="deactivate-viewer"]'
        tab_to(page, opener)
        page.keyboard.press("Space")
        expect(page.locator("#deactivate-viewer button[value=cancel]")).to_be_focused()
        expect(page.locator("#deactivate-viewer button.danger")).to_have_text("Deactivate viewer")
        page.keyboard.press("Escape")
        expect(page.locator(opener)).to_be_focused()
        tab_to(page, 'tr[data-user="admin"] a[href="/users/admin"]', backwards=True)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="admin", exact=True)).to_be_visible()
        tab_to(page, "#tokens-table a[data-dialog]")
        page.keyboard.press("Enter")
        expect(page.locator("#tokens-table dialog[open] button[value=cancel]")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#tokens-table dialog[open]")).to_have_count(0)
        expect(page.locator("#tokens-table a[data-dialog]").first).to_be_focused()
    finally:
        page.context.close()
