"""The build-health chart's geometry, computed here so that ``_health.html`` only draws.

Server-rendered SVG: no chart library in the browser, no inline style (the CSP forbids
it): colours come from classes in app.css, and every status also has its own fill
pattern (stripes, dots, cross-hatch, outline), named in a legend, so the chart reads
without colour; the table under it says the same in text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from extci.builds.state import BuildStatus
from extci.builds.stats import RECENT, Health, Point
from extci.humanize import duration

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 24
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
SLOT = PLOT_W / RECENT
BAR = SLOT * 0.72
STUB = 4  # the height of a bar without a duration (a LOST build)

# Each status: its CSS class (colour) and its pattern's id (shape), in legend order.
STATUS_STYLES: dict[str, str] = {
    BuildStatus.SUCCESSFUL: "successful",
    BuildStatus.INCOMPLETE: "incomplete",
    BuildStatus.FAILED: "failed",
    BuildStatus.CANCELLED: "cancelled",
    BuildStatus.BUILDING: "building",
    BuildStatus.LOST: "lost",
}
LEGEND_TEXT: dict[str, str] = {
    BuildStatus.SUCCESSFUL: "Successful (solid)",
    BuildStatus.INCOMPLETE: "Incomplete (dots)",
    BuildStatus.FAILED: "Failed (stripes)",
    BuildStatus.CANCELLED: "Cancelled (cross-hatch)",
    BuildStatus.BUILDING: "Building (outline)",
    BuildStatus.LOST: "Lost (dashed outline)",
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    style: str  # successful, failed, … (class bar-<style>, pattern hp-<style>)
    label: str  # the tooltip and the accessible name: version, status, duration
    point: Point


class Tick(NamedTuple):
    """A gridline of the duration axis: its height and the duration it marks."""

    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    plot_width: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    legend: list[tuple[str, str]]  # (style, text) for the statuses the chart shows
    summary: str  # one sentence: the figure's caption


def _label(p: Point) -> str:
    took = "no end event" if p.duration_seconds is None else duration(p.duration_seconds)
    if p.status == BuildStatus.BUILDING:
        took = f"running for {took}"
    return f"{p.build_version}: {p.status.lower()}, {took}"


def chart(health: Health) -> Chart:
    points = health.recent
    # The scale is set by the finished builds: one running (or stuck) for hours would
    # flatten every other bar; such a bar is cut at the top of the plot instead.
    finished = [p.duration_seconds for p in points if p.ended_at and p.duration_seconds]
    running = [p.duration_seconds or 0.0 for p in points]
    longest = max(finished or running, default=0.0) or 1.0
    baseline = TOP + PLOT_H
    # The newest bar sits at the right edge; fewer than RECENT builds leave the left empty.
    first_slot = RECENT - len(points)
    bars = []
    for i, p in enumerate(points):
        height = (
            STUB if p.duration_seconds is None else max(2.0, PLOT_H * p.duration_seconds / longest)
        )
        x = LEFT + (first_slot + i) * SLOT + (SLOT - BAR) / 2
        style = STATUS_STYLES.get(p.status, "lost")
        bars.append(Bar(round(x, 1), round(baseline - height, 1), round(BAR, 1),
                        round(height, 1), style, _label(p), p))  # fmt: skip
    ticks = [Tick(round(baseline - PLOT_H * f, 1), duration(longest * f)) for f in (0.5, 1.0)]
    shown = {b.style for b in bars}
    legend = [(s, LEGEND_TEXT[status]) for status, s in STATUS_STYLES.items() if s in shown]
    failed = sum(b.style in ("failed", "incomplete") for b in bars)
    summary = (
        f"Duration of the last {len(bars)} builds, oldest on the left; "
        f"{failed} of them failed or were incomplete; the longest finished one took "
        f"{duration(longest)}."
        if bars
        else "No builds yet."
    )
    return Chart(WIDTH, HEIGHT, LEFT, PLOT_W, baseline, bars, ticks, legend, summary)
