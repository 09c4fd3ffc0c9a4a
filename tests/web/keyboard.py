"""Keyboard helpers for the browser tests: Tab to an element, and measure the focus ring."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# The focused element's outline and what it is drawn against: the colour behind the outline
# (the nearest opaque background outside the element for an outline outside it; the
# element's own for one drawn inside), and the WCAG contrast ratio of the two.
RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return null; }
  const style = getComputedStyle(el);
  function rgb(text) {
    const m = text.match(/rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?/);
    return m ? { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] } : null;
  }
  function backgroundOf(node) {
    for (; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) { return c; }
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  }
  function luminance(c) {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  const offset = parseFloat(style.outlineOffset) || 0;
  const behind = offset < 0 ? backgroundOf(el) : backgroundOf(el.parentElement);
  const ring = rgb(style.outlineColor);
  const a = luminance(ring), b = luminance(behind);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || "").trim().slice(0, 40),
    style: style.outlineStyle, width: parseFloat(style.outlineWidth),
    ring: style.outlineColor, behind: `rgb(${behind.r}, ${behind.g}, ${behind.b})`,
    contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
    visible: el.matches(":focus-visible"),
  };
}"""


def focus_ring(page: Page) -> dict[str, Any] | None:
    ring: dict[str, Any] | None = page.evaluate(RING)
    return ring


def assert_ring_visible(page: Page) -> dict[str, Any]:
    ring = focus_ring(page)
    assert ring is not None, "nothing has focus"
    assert ring["visible"], ring
    assert ring["style"] != "none", ring
    assert ring["width"] >= 2, ring
    assert ring["contrast"] >= 3.0, f"focus ring under 3:1: {ring}"
    return ring


def tab_to(page: Page, selector: str, *, backwards: bool = False, limit: int = 80) -> int:
    """Press Tab (Shift+Tab) until the focused element matches ``selector``, checking the
    focus ring at every stop on the way. Returns how many presses it took."""
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if page.evaluate("() => document.activeElement !== document.body"):
            assert_ring_visible(page)
        if page.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached with {limit} presses of {key}")


def focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate("(s) => !!document.activeElement?.matches(s)", selector))
