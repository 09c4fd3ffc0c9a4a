"""POST one event to ``/ci/webhook``, retrying what is safe to retry.

Every event is idempotent on the receiver (spec section 4), so a request whose answer was
lost can simply be sent again. Retried: connection errors and timeouts, 429, 502, 503, 504
(502/504 are what a reverse proxy in front of extci answers while it restarts). Never
retried: any other 4xx, and 500 (a server bug will not go away by asking again).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from extci.reporter.errors import ExitCode, ReporterError

MEDIA_TYPE = "application/vnd.codenow.v1+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.5  # seconds before the first retry (before jitter)
BACKOFF_CAP = 30.0  # longest single wait


@dataclass(frozen=True)
class RetryPolicy:
    retry_for: float = 60.0  # total seconds spent retrying, from the first attempt
    timeout: float = 30.0  # per request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects surface as errors: a POST must not silently become a GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, retry_after: float | None) -> float:
    """Full-jitter exponential backoff, never shorter than what the server asked for."""
    delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
    return max(delay, retry_after) if retry_after is not None else delay


def format_problem(status: int, reason: str, body: bytes) -> str:
    """A readable rendering of an error answer (problem+json when it is one)."""
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        text = body.decode("utf-8", "replace").strip()[:500]
        return f"HTTP {status} {reason}" + (f": {text}" if text else "")
    lines = [f"HTTP {status} {problem.get('title') or reason}"]
    if problem.get("detail"):
        lines.append(f"  {problem['detail']}")
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            lines.append(f"  {error.get('pointer') or '/'}: {error.get('detail', '')}")
    return "\n".join(lines)


def _exit_code_for(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if status in RETRY_STATUSES:
        return ExitCode.UNAVAILABLE
    if 400 <= status < 500:
        return ExitCode.REJECTED
    if status >= 500:
        return ExitCode.SERVER_ERROR
    return ExitCode.PROTOCOL


def post_event(
    base_url: str,
    ci_key: str,
    body: bytes,
    policy: RetryPolicy,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Send ``body``; return the server's JSON answer or raise ``ReporterError``."""
    url = base_url.rstrip("/") + "/ci/webhook"
    if not url.startswith(("http://", "https://")):
        raise ReporterError(
            f"EXTCI_URL must start with http:// or https://: {base_url}", ExitCode.USAGE
        )
    headers = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE, "X-Codenow-Api-Key": ci_key}
    deadline = time.monotonic() + policy.retry_for
    attempt = 0
    while True:
        # The scheme was checked above: only http(s), never file: or custom schemes.
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        retry_after: float | None = None
        try:
            with _opener.open(request, timeout=policy.timeout) as response:
                answer = response.read()
            try:
                parsed = json.loads(answer)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ReporterError(
                    f"{url} answered {response.status} without a JSON object; "
                    "is EXTCI_URL the extci server?",
                    ExitCode.PROTOCOL,
                )
            return parsed
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
            if 300 <= status < 400:
                raise ReporterError(
                    f"{url} redirected ({status}) to {error.headers.get('Location')}; "
                    "set EXTCI_URL to the final address",
                    ExitCode.PROTOCOL,
                ) from None
            problem = format_problem(status, error.reason, payload)
            if status not in RETRY_STATUSES:
                raise ReporterError(problem, _exit_code_for(status)) from None
            retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            failure, code = problem.splitlines()[0], _exit_code_for(status)
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            failure, code = f"cannot reach {url}: {reason}", ExitCode.UNAVAILABLE
        delay = backoff(attempt, retry_after)
        if time.monotonic() + delay > deadline:
            raise ReporterError(f"{failure} (gave up retrying)", code)
        log(f"{failure}; retrying in {delay:.1f}s")
        time.sleep(delay)
        attempt += 1
