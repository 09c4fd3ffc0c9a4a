"""The whole journey in a real browser against a live server: sign in, create a component,
switch it to External CI, generate a key, send events with it, watch the build live."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.support import events as ev
from tests.support.live import LiveServer
from tests.web.pages import csrf_token, live_stream_requests, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMPONENT = "orders-service"


def create_component(page: Page) -> None:
    form = page.locator("#create")
    form.get_by_label("Id").fill("Orders Service")
    form.get_by_label("Display name").fill("Orders service")
    form.get_by_label("Display name").focus()  # leaving the id field validates it inline
    expect(form.locator("#id-error")).to_contain_text("lowercase letters")
    form.get_by_label("Id").fill(COMPONENT)
    expect(form.locator("#id-error")).to_have_count(0)
    form.get_by_role("button", name="Create component").click()
    expect(page.get_by_role("heading", name=re.compile("Orders service"))).to_be_visible()


def switch_to_external(page: Page) -> None:
    page.get_by_role("button", name="Switch to External CI").click()
    dialog = page.locator("#mode-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Release")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Switch to External CI").click()
    dialog.get_by_role("button", name="Switch to External CI").click()
    expect(page.locator(".notice")).to_contain_text("Switched to External CI")


def generate_key(page: Page) -> str:
    page.get_by_role("button", name="Generate CI key").click()
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("jenkins-main")
    dialog.get_by_role("button", name="Generate key").click()
    shown = page.locator("#key-created")
    expect(shown).to_be_visible()
    expect(shown).to_contain_text("will not be shown again")
    field_value = shown.get_by_label("CI key").input_value()
    shown.get_by_role("button", name="Copy").click()
    expect(shown.locator("[data-copy-status]")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == field_value
    assert copied.startswith("extci_ci_")
    shown.get_by_role("button", name="Close").click()
    expect(shown).to_be_hidden()
    expect(page.locator("#keys-summary")).to_be_focused()
    return str(copied)


def wait_for_live(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected")


def send_and_see_row(
    page: Page, server: LiveServer, event: dict[str, object], key: str, selector: str
) -> None:
    """The webhook answers 200 and ``selector`` then appears on the page by itself (how
    fast is ``make bench``'s to measure; the deadline only bounds a failing run)."""
    response = server.send(event, key)
    assert response.status_code == 200, response.text
    page.wait_for_selector(selector, timeout=30_000)


def test_the_whole_journey(open_page: Callable[..., Page], server: LiveServer) -> None:
    page = open_page()

    # Sign in: a wrong password says so plainly, the right one gets in.
    page.goto("/components")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    sign_in(page, "editor")

    create_component(page)
    switch_to_external(page)
    key = generate_key(page)
    assert key not in page.content()  # closed: the secret has left the page

    # A running build appears by itself: pushed over the open live stream, no reload.
    page.goto(f"/components/{COMPONENT}")
    expect(page.locator("#no-builds")).to_be_visible()
    wait_for_live(page)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    reconnects = live_stream_requests(page)
    send_and_see_row(
        page,
        server,
        ev.start("orders-1842", COMPONENT, "1.4.0", pipelineName="orders/main"),
        key,
        'tr[data-pipeline="orders-1842"][data-status="BUILDING"]',
    )
    row = page.locator('tr[data-pipeline="orders-1842"]')
    expect(row).to_contain_text("1.4.0")
    expect(row).to_contain_text("Jane Doe")

    # Results and the end event: the row follows, still without a reload.
    assert server.send(ev.result("orders-1842", *ev.deployable()), key).status_code == 200
    expect(row.locator(".chip-helm")).to_be_visible()
    expect(row).to_contain_text("main")
    expect(row).to_contain_text("9f2c1e7")
    send_and_see_row(
        page,
        server,
        ev.end("orders-1842"),
        key,
        'tr[data-pipeline="orders-1842"][data-status="SUCCESSFUL"]',
    )
    assert navigations == [], f"the page reloaded: {navigations}"
    assert reconnects == [], f"the live stream reconnected: {reconnects}"

    # A second build that ends without its Helm chart is INCOMPLETE.
    assert server.send(ev.start("orders-1843", COMPONENT, "1.4.1"), key).status_code == 200
    incomplete = [ev.git_revision("feature/x", "abcdef0123"), ev.artifact("container")]
    assert server.send(ev.result("orders-1843", *incomplete), key).status_code == 200
    assert server.send(ev.end("orders-1843"), key).status_code == 200
    expect(page.locator('tr[data-pipeline="orders-1843"]')).to_have_attribute(
        "data-status", "INCOMPLETE"
    )
    # And a third one still running, so the screenshot shows the live state.
    assert server.send(ev.start("orders-1844", COMPONENT, "1.5.0-rc.1"), key).status_code == 200
    expect(page.locator('tr[data-pipeline="orders-1844"]')).to_be_visible()

    # Build detail: status with the CI link, results by type, the checklist, the timeline.
    page.get_by_role("link", name="1.4.0", exact=True).click()
    expect(page.locator("#build-status")).to_contain_text("SUCCESSFUL")
    expect(page.get_by_role("link", name=re.compile("Open the run in CI"))).to_have_attribute(
        "href", "https://ci.example.org/job/orders/1842/"
    )
    results = page.locator("#results")
    for kind in ("container", "helm", "git-revision"):
        expect(results.locator(f'[data-type="{kind}"]')).to_be_visible()
    expect(results).to_contain_text("registry.example.org/team/orders-service:1.4.0")
    expect(page.locator("#required-results .missing")).to_have_count(0)
    expect(page.locator("#timeline tbody tr")).to_have_count(3)

    page.goto(f"/components/{COMPONENT}/builds/orders-1843")
    expect(page.locator("#build-status")).to_contain_text("INCOMPLETE")
    expect(page.locator("#missing-results")).to_have_text("Missing: helm")
    expect(page.locator("#required-results .missing")).to_contain_text("helm")

    # The running build's page updates itself when its end event arrives.
    page.goto(f"/components/{COMPONENT}/builds/orders-1844")
    expect(page.locator("#build-status")).to_contain_text("BUILDING")
    wait_for_live(page)
    assert server.send(ev.end("orders-1844", "FAILED"), key).status_code == 200
    expect(page.locator("#build-status")).to_contain_text("FAILED")

    # Suspend the key: the webhook refuses it from then on.
    page.goto(f"/components/{COMPONENT}")
    page.locator("#keys-table").get_by_role("button", name=re.compile("^Suspend")).click()
    expect(page.locator("#keys-table")).to_contain_text("Suspended")
    refused = server.send(ev.start("orders-1845", COMPONENT), key)
    assert refused.status_code == 401
    page.locator("#keys-table").get_by_role("button", name=re.compile("^Resume")).click()
    expect(page.locator("#keys-table")).to_contain_text("Active")
    assert server.send(ev.start("orders-1845", COMPONENT), key).status_code == 200

    page.goto("/components")
    expect(page.locator("#components")).to_contain_text(COMPONENT)

    mobile = open_page(mobile=True)
    sign_in(mobile, "editor")
    mobile.goto(f"/components/{COMPONENT}")
    expect(mobile.locator('tr[data-pipeline="orders-1842"]')).to_be_visible()
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    mobile.goto(f"/components/{COMPONENT}/builds/orders-1843")

    # Delete asks first; then the key is gone.
    page.goto(f"/components/{COMPONENT}")
    page.locator("#keys-table").get_by_role("button", name=re.compile("^Delete")).click()
    page.get_by_role("button", name="Delete key").click()
    expect(page.locator(".notice")).to_contain_text("CI key deleted")
    expect(page.locator("#keys-table")).to_have_count(0)

    # Sign out ends the session.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to extci")).to_be_visible()
    page.goto("/components")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_a_viewer_sees_no_edit_controls_and_is_refused(
    open_page: Callable[..., Page], server: LiveServer
) -> None:
    editor = open_page()
    sign_in(editor, "editor")
    create_component(editor)
    switch_to_external(editor)
    generate_key(editor)

    page = open_page()
    sign_in(page, "viewer")
    expect(page.locator("#create")).to_have_count(0)
    page.goto(f"/components/{COMPONENT}")
    expect(page.get_by_role("heading", name="Continuous Integration keys")).to_be_visible()
    for name in ("Switch back to platform builds", "Generate CI key"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.locator("#keys-table button")).to_have_count(0)
    expect(page.locator("#keys-table")).to_contain_text("jenkins-main")

    # The server refuses a forged form anyway, with a page that says why.
    token = csrf_token(page)
    forged = page.request.post(
        f"/components/{COMPONENT}/ci-mode",
        form={"mode": "platform", "csrf_token": token},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "editor role" in forged.text()
    page.goto(f"/components/{COMPONENT}/keys/new")
    expect(page.get_by_role("heading", name=re.compile("403"))).to_be_visible()
    # Nothing changed.
    editor.goto(f"/components/{COMPONENT}")
    expect(editor.locator(".pill-external").first).to_be_visible()
