"""The three event documents of the wire contract, built as plain dicts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from extci.reporter.detect import Actor
from extci.reporter.items import Item

ENVELOPE_VERSION = "application/vnd.codenow.v1+json"
START, RESULT, END = "codenow.ci.start.event", "codenow.ci.result.event", "codenow.ci.end.event"
END_RESULTS = ("SUCCESSFUL", "FAILED", "CANCELED")

Event = dict[str, Any]


def now_rfc3339() -> str:
    """UTC time with millisecond precision, e.g. ``2025-01-31T12:00:00.123Z``."""
    # timezone.utc, not dt.UTC: the served zipapp runs on Python 3.9 too.
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")  # noqa: UP017
    return stamp.replace("+00:00", "Z")


def _envelope(event_type: str, pipeline_id: str) -> Event:
    return {
        "type": event_type,
        "version": ENVELOPE_VERSION,
        "pipelineId": pipeline_id,
        "createdAt": now_rfc3339(),
    }


def start_event(
    pipeline_id: str,
    component: str,
    build_version: str,
    *,
    actor: Actor | None = None,
    pipeline_name: str | None = None,
    dashboard_url: str | None = None,
) -> Event:
    event = _envelope(START, pipeline_id)
    event["componentId"] = component
    event["buildVersion"] = build_version
    if actor is not None:
        event["actor"] = {"username": actor.username, "fullname": actor.fullname}
    if pipeline_name:
        event["pipelineName"] = pipeline_name
    if dashboard_url:
        event["dashboardUrl"] = dashboard_url
    return event


def result_event(pipeline_id: str, items: Sequence[Item]) -> Event:
    event = _envelope(RESULT, pipeline_id)
    event["payload"] = list(items)
    return event


def end_event(pipeline_id: str, result: str) -> Event:
    if result not in END_RESULTS:
        raise ValueError(f"end result must be one of {', '.join(END_RESULTS)}")
    event = _envelope(END, pipeline_id)
    event["result"] = result
    return event


def encode(event: Event) -> bytes:
    """The exact request body; ``--dry-run`` prints these bytes and nothing else."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
