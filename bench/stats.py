"""Median with min and max over rounds, and the formatting of figures."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def med(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else float("nan")


def spread(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """``median (min-max)``, or the single value of a one-round run."""
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return "-"
    if len(clean) == 1:
        return fmt.format(clean[0])
    return f"{fmt.format(med(clean))} ({fmt.format(min(clean))}-{fmt.format(max(clean))})"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")
