"""The delivery figures: attempts by outcome, and the outbox's depth, counted by the
Prometheus metrics (``extci.metrics``: ``extci_webhook_deliveries{outcome}`` and
``extci_outbox_depth``). The worker reports through these two functions only."""

from __future__ import annotations

from extci import metrics

# What became of one attempt: delivered (a 2xx), failed (it will be retried), abandoned
# (the retry period is over: the delivery is FAILED until someone redelivers it).
DELIVERY_OUTCOMES = metrics.DELIVERY_OUTCOMES


def delivery_attempted(outcome: str) -> None:
    """One attempt ended; ``outcome`` is one of :data:`DELIVERY_OUTCOMES`."""
    metrics.delivery_attempted(outcome)


def set_outbox_depth(depth: int) -> None:
    """Deliveries waiting to be sent (every process's), as this worker last counted them."""
    metrics.set_outbox_depth(depth)
