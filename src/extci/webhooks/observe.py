"""Hooks for the delivery figures: attempts by outcome, and the outbox's depth.

The Prometheus metrics (``extci.metrics``, another branch) have functions of the same names
and meaning; wiring them is making these two call those. Until then they do nothing.
"""

from __future__ import annotations

# What became of one attempt: delivered (a 2xx), failed (it will be retried), abandoned
# (the retry period is over: the delivery is FAILED until someone redelivers it).
DELIVERY_OUTCOMES = ("delivered", "failed", "abandoned")


def delivery_attempted(outcome: str) -> None:
    """One attempt ended; ``outcome`` is one of :data:`DELIVERY_OUTCOMES`."""


def set_outbox_depth(depth: int) -> None:
    """Deliveries waiting to be sent (every process's), as this worker last counted them."""
