"""axe-core (WCAG 2.1 A and AA) on every page and state a person reaches, as each role, at a
desktop and a phone width: zero violations.

One browser (the session's), one populated server (the ``site`` fixture), and per role and
width one page walked through its states in a loop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.live import PASSWORDS
from tests.web import axe
from tests.web.axe import inject, require_axe
from tests.web.pages import DESKTOP, MOBILE
from tests.web.site import BUILDS, INVENTORY, ORDERS, PAYMENTS, SEARCH, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS: dict[str, ViewportSize] = {"1280": DESKTOP, "390": MOBILE}
# A walk yields the name of each state once the page shows it.
Walk = Callable[[Page, Site, str], Iterator[str]]


def signed_in_page(
    browser: Browser, site: Site, role: str, width: str, sessions: dict[str, Any]
) -> Page:
    """A page at ``width`` on /components as ``role``: signed in through the form once per
    role, the session reused at the other width."""
    phone = width == "390"
    context = browser.new_context(
        base_url=site.server.url,
        viewport=WIDTHS[width],
        is_mobile=phone,
        has_touch=phone,
        timezone_id="Europe/Prague",
        locale="en-GB",
        storage_state=sessions.get(role),
    )
    context.set_default_timeout(10_000)
    inject(context)
    page = context.new_page()
    if role == "anonymous":
        return page
    if role in sessions:
        page.goto("/components")
    else:
        page.goto("/sign-in")
        page.locator("#username").fill(role)
        page.locator("#password").fill(PASSWORDS[role])
        page.locator("#password").press("Enter")
        sessions[role] = context.storage_state()
    expect(page.get_by_role("heading", name="Components", exact=True)).to_be_visible()
    return page


def open_dialog(page: Page, opener: str, dialog: str) -> None:
    page.locator(opener).click()
    expect(page.locator(dialog)).to_be_visible()


def close_dialog(page: Page, dialog: str) -> None:
    page.keyboard.press("Escape")
    expect(page.locator(dialog)).to_be_hidden()


def build_pages(page: Page, site: Site) -> Iterator[str]:
    for pipeline, (_, status) in BUILDS.items():
        page.goto(site.build_url(pipeline))
        expect(page.locator("#build-status")).to_contain_text(status)
        yield f"build {status}"


def linked_pages(page: Page, links: str) -> Iterator[str]:
    """The pages ``links`` (a selector) lead to, each visited: pages other features add
    (a component's webhooks, an admin's list) are checked without naming them here."""
    hrefs = page.eval_on_selector_all(links, "els => els.map(e => e.getAttribute('href'))")
    for href in dict.fromkeys(hrefs):
        page.goto(href)
        yield f"linked page {href}"


def walk_anonymous(page: Page, site: Site, width: str) -> Iterator[str]:
    page.goto("/sign-in")
    yield "sign-in"
    page.locator("#username").fill("editor")
    page.locator("#password").fill("not-the-password")
    page.locator("#password").press("Enter")
    expect(page.locator("#sign-in-error")).to_be_visible()
    yield "sign-in with an error"
    page.goto("/downloads/")
    yield "downloads"


def walk_editor(page: Page, site: Site, width: str) -> Iterator[str]:
    yield "components"
    create = page.locator("#create")
    create.get_by_label("Id").fill(ORDERS)
    create.get_by_role("button", name="Create component").click()
    expect(page.locator("#id-error")).to_be_visible()
    yield "components: create with an id that exists"

    page.goto(f"/components/{ORDERS}")
    yield "component, External CI, builds and keys"
    yield from linked_pages(page, ".page-head a[href]")
    page.goto(f"/components/{ORDERS}")
    open_dialog(page, "#mode-button", "#mode-dialog")
    yield "dialog: switch back to platform builds"
    close_dialog(page, "#mode-dialog")
    open_dialog(page, "#generate-key", "#key-dialog")
    yield "dialog: generate key"
    page.locator("#key-name").fill(f"axe-{width}")
    page.locator("#key-expires").fill("2020-01-31")
    page.locator("#key-dialog").get_by_role("button", name="Generate key").click()
    expect(page.locator("#key-expires[aria-invalid=true]")).to_be_visible()
    yield "dialog: generate key, expiry in the past"
    page.locator("#key-expires").fill("")
    page.locator("#key-dialog").get_by_role("button", name="Generate key").click()
    expect(page.locator("#key-created")).to_be_visible()
    yield "dialog: key shown once"
    page.keyboard.press("Escape")
    expect(page.locator("[data-discard-prompt]")).to_be_visible()
    yield "dialog: key shown once, not copied: close anyway?"
    page.get_by_role("button", name="Close without copying").click()
    expect(page.locator("#key-created")).to_have_count(0)
    # Each width works on a key of its own: the two walks run side by side.
    key_id = site.key_ids["jenkins-main" if width == "1280" else "gitlab-ci"]
    open_dialog(page, f'[data-dialog="delete-{key_id}"]', f"#delete-{key_id}")
    yield "dialog: delete key"
    close_dialog(page, f"#delete-{key_id}")
    page.locator(f'tr[data-key="{key_id}"]').get_by_role(
        "button", name=re.compile("^Suspend")
    ).click()
    expect(page.locator("#notice")).to_be_visible()
    yield "component: notice after suspending a key"
    page.locator(f'tr[data-key="{key_id}"]').get_by_role(
        "button", name=re.compile("^Resume")
    ).click()
    expect(page.locator("#notice")).to_contain_text("resumed")
    page.locator("#howto-fold > summary").click()
    expect(page.locator("#curl-example")).to_be_visible()
    yield "component: how to send events unfolded"
    trust = page.locator("#trust-form")
    page.locator("#trust-name").fill(f"github-{width}")
    page.locator("#trust-issuer").fill("not a url")
    page.locator("#trust-claims").fill("repository=acme/orders")
    trust.get_by_role("button", name="Add trust policy").click()
    expect(page.locator("#trust-error")).to_be_visible()
    yield "trust policy: an error"
    page.locator("#trust-issuer").fill("https://token.actions.githubusercontent.com")
    trust.get_by_role("button", name="Add trust policy").click()
    expect(page.locator(f'#trust-table:has-text("github-{width}")')).to_be_visible()
    yield "trust policies listed"
    page.goto("/downloads/")
    yield "downloads"

    page.goto(f"/components/{PAYMENTS}")
    yield "component, platform, builds and keys"
    open_dialog(page, "#mode-button", "#mode-dialog")
    yield "dialog: switch to External CI"
    close_dialog(page, "#mode-dialog")
    page.goto(f"/components/{INVENTORY}")
    yield "component, External CI, no keys or builds yet"
    # Webhooks on a component no test sends builds of: nothing is ever delivered.
    page.goto(f"/components/{INVENTORY}/webhooks")
    page.locator("#webhook-url").fill(f"https://deploy.example.org/hooks/{width}")
    page.locator("#new-webhook input[type=checkbox]").first.check()
    page.get_by_role("button", name="Add subscription").click()
    expect(page.locator("#webhook-created")).to_be_visible()
    yield "webhooks: signing secret shown once"
    page.keyboard.press("Escape")
    page.locator(f'#webhooks-table a:not(.button):has-text("hooks/{width}")').click()
    expect(page).to_have_url(re.compile(r"/webhooks/\d+$"))
    yield "webhook delivery log"
    subscription = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(f"/webhooks/{subscription}/delete")
    yield "page: delete a webhook subscription"
    page.goto(f"/components/{SEARCH}")
    yield "component, platform, nothing yet"
    yield from build_pages(page, site)

    # The same forms as pages of their own, for browsers without JavaScript.
    for path in ("ci-mode", "keys/new", f"keys/{key_id}/delete"):
        page.goto(f"/components/{ORDERS}/{path}")
        yield f"page: {path}"
    page.goto("/users")
    yield "403"
    page.goto("/components/no-such-component")
    yield "404"


def walk_viewer(page: Page, site: Site, width: str) -> Iterator[str]:
    yield "components"
    for cid in (ORDERS, PAYMENTS, INVENTORY):
        page.goto(f"/components/{cid}")
        expect(page.locator("#viewer-hint")).to_be_visible()
        yield f"component {cid}"
    page.goto(f"/components/{ORDERS}")
    yield from linked_pages(page, ".page-head a[href]")
    yield from build_pages(page, site)
    page.goto(f"/components/{ORDERS}/keys/new")
    yield "403"
    page.goto(f"/components/{ORDERS}/builds/no-such-build")
    yield "404"


def walk_admin(page: Page, site: Site, width: str) -> Iterator[str]:
    yield from linked_pages(page, ".top nav a:not([href='/users'])")
    page.goto("/users")
    yield "users"
    open_dialog(page, '[data-dialog="deactivate-viewer"]', "#deactivate-viewer")
    yield "dialog: deactivate a user"
    close_dialog(page, "#deactivate-viewer")
    page.goto("/users/admin")
    yield "a user's tokens"
    opener = page.locator("#tokens-table [data-dialog]").first
    opener.click()
    expect(page.locator("#tokens-table dialog[open]")).to_be_visible()
    yield "dialog: delete token"
    page.keyboard.press("Escape")
    page.goto("/audit")
    yield "audit log"
    page.goto("/audit?action=key.created")
    yield "audit log, filtered"


WALKS: dict[str, Walk] = {
    "anonymous": walk_anonymous,
    "editor": walk_editor,
    "viewer": walk_viewer,
    "admin": walk_admin,
}


@dataclass
class Walker:
    """One role at one width, walking its states; axe runs on each while the others walk."""

    role: str
    width: str
    page: Page
    states: Iterator[str]
    pending: str | None = None  # the state axe is busy with


def test_every_page_and_state_is_axe_clean(playwright_browser: Browser, site: Site) -> None:
    require_axe()
    started = time.monotonic()
    sessions: dict[str, Any] = {}
    walkers = [
        Walker(role, width, page, walk(page, site, width))
        for width in WIDTHS
        for role, walk in WALKS.items()
        for page in [signed_in_page(playwright_browser, site, role, width, sessions)]
    ]
    found: dict[str, list[dict[str, Any]]] = {}
    checked: list[str] = []
    try:
        while walkers:
            for walker in list(walkers):
                if walker.pending is not None:
                    if problems := axe.collect(walker.page):
                        found[walker.pending] = problems
                    walker.pending = None
                state = next(walker.states, None)
                if state is None:
                    walkers.remove(walker)
                    walker.page.context.close()
                    continue
                walker.pending = f"{walker.role} @{walker.width}: {state} ({walker.page.url})"
                checked.append(walker.pending)
                axe.start(walker.page)
    finally:
        for walker in walkers:
            walker.page.context.close()
    seconds = time.monotonic() - started
    per_width = {w: sum(f"@{w}:" in c for c in checked) for w in WIDTHS}
    print(
        f"\naxe: {len(checked)} states {per_width}, {len(found)} with violations, {seconds:.1f} s"
    )
    assert min(per_width.values()) >= 45
    assert not found, "\n".join(f"{where}: {problems}" for where, problems in found.items())
