"""Prometheus metrics: what is counted, and the functions that count it.

Served at ``GET /metrics`` (:mod:`extci.health`) in the Prometheus text format. No label
carries an unbounded value: event types, HTTP statuses, build statuses and delivery
outcomes are short fixed lists; never a pipeline id, a component id or a URL.

The webhook counts every event, so counting must cost next to nothing there
(docs/delivery.md has the measurement): :class:`WebhookMeter` binds every labelled child
once, up front, and the webhook does one dict look-up and one ``inc()`` per event, with
no ``labels()`` call (which hashes the label values under the metric's lock). The only
lock left is the one inside each value, which nothing contends: the webhook runs on one
event-loop thread per process.

Several server processes: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared
by them (before they start, cleared at each start); each process then writes its values
to files there and ``/metrics`` adds up every process's (prometheus_client's multiprocess
mode). Without it, each process reports only its own counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

UNKNOWN = "unknown"  # an event refused before its type was known (401, 413, 400 …)
# Seconds from the webhook handler's start to its answer, an accepted event's commit
# included: the group-commit writer answers after the batch's transaction.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# What became of one attempt to send an outgoing webhook: delivered (2xx), failed (will
# be retried), abandoned (the retry period is over).
DELIVERY_OUTCOMES = ("delivered", "failed", "abandoned")

# No "_created" sample beside every counter and histogram: it would double the series for
# a timestamp Prometheus does not need (the process start time is exported already).
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)
WEBHOOK_EVENTS = Counter(
    "extci_webhook_events",
    "CI events received at POST /ci/webhook, by event type and answer status.",
    ["type", "status"],
    registry=REGISTRY,
)
WEBHOOK_LATENCY = Histogram(
    "extci_webhook_latency_seconds",
    "Time to answer an accepted CI event (2xx), its database commit included.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
BUILDS_FINISHED = Counter(
    "extci_builds_finished",
    "Builds ended by an end event, by the status it gave them.",
    ["status"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "extci_webhook_deliveries",
    "Attempts to deliver an outgoing webhook, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "extci_outbox_depth",
    "Outgoing deliveries waiting in the outbox.",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(collector)

_DELIVERIES = {outcome: WEBHOOK_DELIVERIES.labels(outcome) for outcome in DELIVERY_OUTCOMES}


def delivery_attempted(outcome: str) -> None:
    """Count one delivery attempt; ``outcome`` is one of :data:`DELIVERY_OUTCOMES`."""
    _DELIVERIES[outcome].inc()


def set_outbox_depth(depth: int) -> None:
    OUTBOX_DEPTH.set(depth)


class WebhookMeter:
    """The webhook's counters with every labelled child bound in advance.

    ``types`` maps an event's wire type to its label (None: the type was not known);
    ``statuses`` are the answers the webhook gives; ``final_statuses`` the statuses an end
    event can leave a build in. A status outside the list is bound on first use (HTTP
    statuses are a small fixed set, so the label stays bounded)."""

    def __init__(
        self,
        types: Mapping[str | None, str],
        statuses: Iterable[int],
        final_statuses: Iterable[str],
    ) -> None:
        self._labels = dict(types)
        self._events: dict[tuple[str | None, int], Counter] = {
            (wire, status): WEBHOOK_EVENTS.labels(label, str(status))
            for wire, label in self._labels.items()
            for status in statuses
        }
        self._finished = {s: BUILDS_FINISHED.labels(s) for s in final_statuses}
        self._observe = WEBHOOK_LATENCY.observe

    def answered(self, event_type: str | None, status: int, seconds: float) -> None:
        child = self._events.get((event_type, status))
        if child is None:  # an unexpected status or type: bound once, then reused
            label = self._labels.get(event_type, UNKNOWN)
            child = self._events[(event_type, status)] = WEBHOOK_EVENTS.labels(label, str(status))
        child.inc()
        if status < 300:
            self._observe(seconds)

    def finished(self, build_status: str) -> None:
        child = self._finished.get(build_status)
        if child is not None:
            child.inc()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> tuple[bytes, str]:
    """The text a scrape receives, and its media type."""
    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
