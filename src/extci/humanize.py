"""Human-readable durations, shared by the command line and the web pages."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """``12 s``, ``3 min 07 s``, ``2 h 05 min``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
