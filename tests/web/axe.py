"""axe-core in the test browser: pinned in tools/axe-core (``make test-tools``), injected by
Playwright into the test's own browser context only, never served by extci."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tools" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Started without waiting (start), collected later (collect): the pages of several walks
# run axe side by side in their renderers while the test drives another page.
START = """(tags) => {
  // After a timeout: axe.run does much of its work before its first await, and the test
  // should not wait for it here.
  window.__axe = new Promise((go) => setTimeout(go, 0)).then(() => axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }
  ).then((result) => result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary) }))));
}"""
COLLECT = "() => window.__axe"


def require_axe() -> None:
    if AXE.exists():
        return
    reason = f"{AXE} is missing: run `make test-tools` (npm ci --prefix tools/axe-core)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the accessibility tests must run)")
    pytest.skip(reason)


def inject(context: BrowserContext) -> None:
    """Every page of ``context`` gets ``window.axe`` before its own scripts run. An init
    script is not subject to the page's Content-Security-Policy, which stays as served."""
    context.add_init_script(path=str(AXE))


def start(page: Page) -> None:
    page.evaluate(START, TAGS)


def collect(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(COLLECT)
    return found


def violations(page: Page) -> list[dict[str, Any]]:
    start(page)
    return collect(page)
