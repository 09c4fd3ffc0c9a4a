"""The webhook pages in a real browser: subscribe from the component page, copy the
secret shown once, watch deliveries arrive in the log, redeliver one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support import events as ev
from tests.support.live import LiveServer, browser_server
from tests.support.receiver import receiver
from tests.web.pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The web tests' server, allowed to send webhooks to 127.0.0.1."""
    live = browser_server(
        tmp_path,
        extra_env={"EXTCI_WEBHOOK_ALLOW_PRIVATE": "true", "EXTCI_WEBHOOK_POLL_INTERVAL": "100ms"},
    )
    try:
        live.launch()
        live.create_users()
        live.cli("components", "create", "orders-service", "--kind", "application-component")
        live.cli("components", "ci-mode", "orders-service", "external")
        live.ci_key = live.cli("keys", "create", "orders-service", "--name", "ci").strip()  # type: ignore[attr-defined]
        yield live
    finally:
        live.stop()


def test_an_editor_subscribes_and_redelivers(
    open_page: Callable[..., Page], server: LiveServer
) -> None:
    page = open_page()
    sign_in(page, "editor")
    page.goto("/components/orders-service")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Webhooks"))).to_be_visible()

    with receiver() as hook:
        form = page.locator("#new-webhook")
        form.get_by_label("Target URL").fill(hook.url + "/deploy")
        form.get_by_role("checkbox", name=re.compile("Build started")).check()
        expect(form.get_by_role("checkbox", name=re.compile("Build deployable"))).to_be_checked()
        form.get_by_label("Format").select_option("standard")
        form.get_by_label(re.compile("^Description")).fill("deploy bot")
        form.get_by_role("button", name="Add subscription").click()

        shown = page.locator("#webhook-created")
        expect(shown).to_be_visible()
        expect(shown).to_contain_text("will not be shown again")
        secret = shown.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")
        shown.get_by_role("button", name="Copy").click()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        shown.get_by_role("button", name="Close").click()
        expect(shown).to_be_hidden()
        expect(page.locator("#webhooks-title")).to_be_focused()

        key = server.ci_key  # type: ignore[attr-defined]
        for event in (
            ev.start("orders-1", "orders-service"),
            ev.result("orders-1", *ev.deployable()),
            ev.end("orders-1"),
        ):
            assert server.send(event, key).status_code == 200
        hook.wait_for(2)

        page.get_by_role("link", name=re.compile("delivery log")).click()
        expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
        rows = page.locator("#deliveries-table tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("[data-state=delivered]")).to_have_count(2)
        page.locator("details summary").first.click()
        expect(page.locator("details pre").first).to_contain_text('"received"')
        page.get_by_role("button", name=re.compile("^Redeliver build.started")).click()
        expect(page.locator(".notice")).to_contain_text("queued to be sent again")
        got = hook.wait_for(3)
    assert got[2].headers["webhook-id"] == got[0].headers["webhook-id"]
