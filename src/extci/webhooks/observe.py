"""Hooks for the delivery figures (webhook deliveries by outcome, outbox depth).

The Prometheus metrics (extci.metrics) are another change; these two functions are where
they plug in. Until then they do nothing.
"""

from __future__ import annotations


def delivery_attempted(outcome: str) -> None:
    """One attempt ended: ``delivered``, ``retrying`` or ``failed`` (gave up)."""


def outbox_depth(pending: int) -> None:
    """Deliveries waiting to be sent (all processes'), as last counted by this worker."""
