"""The component page's "Deployable now" and "Build health" panels in a real browser, on a
live server fed by real webhook requests: the chart is drawn under the strict CSP, reads
without colour (a pattern per status, a legend, a table) and has a text alternative.

The screenshot goes to a temporary directory; ``EXTCI_UPDATE_SCREENSHOTS=1`` writes it to
docs/screenshots/health.png instead (the README shows it), once, by hand."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.support import events as ev
from tests.support.live import LiveServer, browser_server
from tests.web.pages import sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DIGEST = "sha256:" + "3f" * 32
# (status the end event sends or None for a build still running, minutes it took, complete?)
RUNS = [
    ("SUCCESSFUL", 6, True), ("SUCCESSFUL", 7, True), ("FAILED", 3, True),
    ("SUCCESSFUL", 8, True), ("SUCCESSFUL", 6, True), ("SUCCESSFUL", 7, False),
    ("SUCCESSFUL", 9, True), ("CANCELED", 2, True), ("SUCCESSFUL", 6, True),
    ("FAILED", 4, True), ("FAILED", 5, True), ("SUCCESSFUL", 11, True),
    ("SUCCESSFUL", 7, True), ("SUCCESSFUL", 6, True), ("SUCCESSFUL", 8, True),
    ("FAILED", 2, True), ("SUCCESSFUL", 7, True), ("SUCCESSFUL", 6, True),
    ("SUCCESSFUL", 12, True), ("SUCCESSFUL", 7, True), ("SUCCESSFUL", 6, False),
    ("SUCCESSFUL", 8, True), (None, 3, True),
]  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose component has a month of builds, sent through the webhook
    (this module's ``server``: ``open_page`` opens pages on it)."""
    live = browser_server(tmp_path, extra_env={"EXTCI_RATE_LIMIT_PER_MINUTE": "1000"})
    try:
        live.launch()
        live.create_users()
        token = live.cli("tokens", "create", "admin", "--name", "browser-test").strip()
        api = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"})
        with api:
            body = {"id": "orders-service", "name": "Orders", "kind": "application-component"}
            assert api.post("/api/v1/components", json=body).status_code == 201
            api.put("/api/v1/components/orders-service/ci-mode", json={"mode": "external"})
            key = api.post("/api/v1/components/orders-service/ci-keys", json={"name": "ci"})
        feed(live, key.json()["key"])
        yield live
    finally:
        live.stop()


def feed(live: LiveServer, key: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for n, (outcome, minutes, complete) in enumerate(RUNS):
        pid, version = f"orders-{100 + n}", f"1.4.{n}"
        started = now - timedelta(hours=8 * (len(RUNS) - n))
        if outcome is None:  # the one still running started a few minutes ago
            started = now - timedelta(minutes=4)
        items = [ev.git_revision(sha=f"{n:07x}c0ffee"), ev.git_tag(f"v{version}")]
        items.append(ev.artifact("container", version=version) | {"digest": DIGEST})
        if complete:
            items.append(ev.artifact("helm", version=version))
        events = [
            ev.start(pid, "orders-service", version, createdAt=started.isoformat()),
            ev.result(pid, *items),
        ]
        if outcome is not None:
            ended = started + timedelta(minutes=minutes, seconds=17 * n % 60)
            events.append(ev.end(pid, outcome) | {"createdAt": ended.isoformat()})
        for event in events:
            r = live.send(event, key)
            assert r.status_code == 200, r.text


def test_deployable_panel_and_health_chart(open_page: Callable[..., Page], tmp_path: Path) -> None:
    page = open_page()
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    sign_in(page, "viewer")
    page.goto("/components/orders-service")

    # Deployable now: the newest SUCCESSFUL build (build 22 is still running).
    panel = page.get_by_role("region", name="Deployable now")
    expect(panel.get_by_role("link", name="1.4.21")).to_be_visible()
    expect(panel).to_contain_text(f"registry.example.org/team/orders-service:1.4.21@{DIGEST}")
    expect(panel).to_contain_text("v1.4.21")

    # Build health: figures as text, the chart with a text alternative, a table.
    health = page.get_by_role("region", name="Build health")
    expect(health.get_by_text("Success rate, 7 days")).to_be_visible()
    expect(health.get_by_text("Failed to green, 30 days")).to_be_visible()
    chart = health.get_by_role("img", name="Build durations by status")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.bar")
    expect(bars).to_have_count(len(RUNS))
    assert bars.nth(2).get_attribute("fill") == "url(#hp-failed)"
    assert bars.nth(2).get_attribute("data-status") == "FAILED"
    assert bars.nth(len(RUNS) - 1).get_attribute("data-status") == "BUILDING"
    # The pattern is painted (its colour comes from app.css): the stylesheet reached the SVG.
    stripe = page.locator("#hp-failed rect.hp-failed")
    assert stripe.evaluate("e => getComputedStyle(e).fill") == "rgb(180, 35, 24)"
    legend = health.get_by_role("list", name="Legend")
    for text in ("Successful (solid)", "Failed (stripes)", "Incomplete (dots)",
                 "Cancelled (cross-hatch)", "Building (outline)"):  # fmt: skip
        expect(legend).to_contain_text(text)
    expect(health.locator("figcaption")).to_contain_text(f"Duration of the last {len(RUNS)} builds")
    health.get_by_text(f"The last {len(RUNS)} builds as a table").click()
    expect(health.locator("#health-table tbody tr")).to_have_count(len(RUNS))
    assert violations == []
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []

    health.get_by_text(f"The last {len(RUNS)} builds as a table").click()  # folded again
    page.set_viewport_size({"width": 1100, "height": 900})
    # Both panels, from the top of one to the bottom of the other, in page coordinates.
    clip = page.evaluate(
        """() => {
        const a = document.querySelector('#deployable').getBoundingClientRect();
        const b = document.querySelector('#health').getBoundingClientRect();
        return {x: a.left + scrollX, y: a.top + scrollY, width: a.width,
                height: b.bottom - a.top};
    }"""
    )
    shot = tmp_path / "health.png"
    page.screenshot(path=shot, clip=clip, full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("EXTCI_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOTS / "health.png")
