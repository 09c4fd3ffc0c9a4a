"""Send (or, with ``--dry-run``, print) events for one pipeline run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from extci.reporter.config import Settings
from extci.reporter.events import Event, encode
from extci.reporter.identity import credential_headers
from extci.reporter.transport import post_event


def stderr_log(message: str) -> None:
    print(f"extci: {message}", file=sys.stderr, flush=True)


class Reporter:
    def __init__(self, settings: Settings, log: Callable[[str], None] = stderr_log) -> None:
        self.settings = settings
        self.log = log
        self._credentials: dict[str, str] | None = None

    def send(self, event: Event, *, retry_for: float | None = None) -> dict[str, Any] | None:
        """Deliver one event; ``retry_for`` shortens the retry budget (used on cancel).

        Raises ``ReporterError``. The body is encoded once, so every retry sends the very
        same bytes (same ``createdAt``), which the receiver recognises as a duplicate.
        """
        body = encode(event)
        if self.settings.dry_run:
            sys.stdout.buffer.write(body + b"\n")
            sys.stdout.flush()
            return None
        url = self.settings.require_server()
        if self._credentials is None:
            self._credentials = credential_headers(self.settings)
        policy = self.settings.policy
        if retry_for is not None:
            policy = policy._replace(retry_for=min(policy.retry_for, retry_for))
        answer = post_event(url, self._credentials, body, policy, self.log)
        if not self.settings.quiet:
            kind = event["type"].split(".")[2]  # codenow.ci.<kind>.event
            duplicate = " (duplicate, already recorded)" if answer.get("duplicate") else ""
            self.log(
                f"{kind} sent for pipeline {event['pipelineId']}: "
                f"build {answer.get('buildStatus', '?')}{duplicate}"
            )
        return answer
