"""POST one event to ``/ci/webhook``, retrying what is safe to retry.

Every event is idempotent on the receiver (spec section 4), so a request whose answer was
lost can simply be sent again. Retried: connection errors and timeouts, 429, 502, 503, 504
(502/504 are what a reverse proxy in front of extci answers while it restarts). Never
retried: any other 4xx, and 500 (a server bug will not go away by asking again).

A plain ``http://`` URL without a proxy is posted over a socket here: importing
``urllib.request`` (http.client, ssl, email) costs more than the whole request, and the
reporter runs once per CI step. ``https://`` and proxied requests go through urllib.
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, NamedTuple

from extci.reporter.errors import ExitCode, ReporterError

MEDIA_TYPE = "application/vnd.codenow.v1+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.5  # seconds before the first retry (before jitter)
BACKOFF_CAP = 30.0  # longest single wait


class RetryPolicy(NamedTuple):
    retry_for: float = 60.0  # total seconds spent retrying, from the first attempt
    timeout: float = 30.0  # per request


# (status, reason, headers with lower-case names, body) of one answer.
Answer = tuple[int, str, dict[str, str], bytes]


def _uses_proxy(scheme: str) -> bool:
    names = {f"{scheme}_proxy", "all_proxy"}
    return any(value and name.lower() in names for name, value in os.environ.items())


class TLSError(ConnectionError):
    """The TLS handshake failed: an untrusted certificate, or no TLS at that address."""


def _exchange_urllib(
    url: str, headers: dict[str, str], body: bytes | None, timeout: float, method: str = "POST"
) -> Answer:
    """Through urllib (TLS, proxies); redirects are answers, never followed."""
    import ssl
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a POST must not silently become a GET elsewhere (nor a token leak)

    opener = urllib.request.build_opener(NoRedirect)
    # The scheme was checked by the caller: only http(s), never file: or custom schemes.
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            lowered = {k.lower(): v for k, v in response.headers.items()}
            return response.status, response.reason, lowered, response.read()
    except urllib.error.HTTPError as error:
        lowered = {k.lower(): v for k, v in error.headers.items()}
        return error.code, str(error.reason), lowered, error.read()
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLError):
            raise TLSError(str(error.reason)) from None
        raise ConnectionError(str(error.reason)) from None


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        at = end + 2 + size + 2


def parse_answer(raw: bytes) -> Answer:
    """An HTTP/1.1 answer read to the end of the connection."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("the connection closed before a complete answer")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP answer: {status_line[:80]!r}")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = _dechunk(rest)
        elif headers.get("content-length", "").isdigit():
            body = rest[: int(headers["content-length"])]
        else:
            body = rest
    except ValueError:
        raise ConnectionError("the connection closed in the middle of the answer") from None
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body


def _exchange_plain(
    url: str, headers: dict[str, str], body: bytes | None, timeout: float, method: str = "POST"
) -> Answer:
    """One request over a socket: HTTP/1.1, ``Connection: close``, read to the end."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = parts.netloc.rpartition("@")[2]
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {netloc}",
        "Connection: close",
        *([f"Content-Length: {len(body)}"] if body is not None else []),
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    chunks = []
    with socket.create_connection((host, parts.port or 80), timeout=timeout) as sock:
        sock.sendall(request)
        while data := sock.recv(65536):
            chunks.append(data)
    return parse_answer(b"".join(chunks))


def exchange(
    url: str, headers: dict[str, str], body: bytes | None, timeout: float, method: str = "POST"
) -> Answer:
    """One request and its answer (``body`` None: no body, as for a GET)."""
    if url.startswith("http://") and not _uses_proxy("http"):
        return _exchange_plain(url, headers, body, timeout, method)
    return _exchange_urllib(url, headers, body, timeout, method)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # only for the rare HTTP-date form

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


def exit_code_for(status: int) -> ExitCode:
    """The code for an answer's HTTP status; the admin commands use it too (extci.cli)."""
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
    credentials: dict[str, str],
    body: bytes,
    policy: RetryPolicy,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Send ``body`` with the ``credentials`` headers (a CI key, or an identity token);
    return the server's JSON answer or raise ``ReporterError``."""
    url = base_url.rstrip("/") + "/ci/webhook"
    if not url.startswith(("http://", "https://")):
        raise ReporterError(
            f"EXTCI_URL must start with http:// or https://: {base_url}", ExitCode.USAGE
        )
    headers = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE, **credentials}
    deadline = time.monotonic() + policy.retry_for
    attempt = 0
    while True:
        retry_after: float | None = None
        try:
            status, reason, answer_headers, payload = exchange(url, headers, body, policy.timeout)
        except (TimeoutError, ConnectionError, OSError) as error:
            failure, code = f"cannot reach {url}: {error}", ExitCode.UNAVAILABLE
        else:
            if 200 <= status < 300:
                try:
                    parsed = json.loads(payload)
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise ReporterError(
                        f"{url} answered {status} without a JSON object; "
                        "is EXTCI_URL the extci server?",
                        ExitCode.PROTOCOL,
                    )
                return parsed
            if 300 <= status < 400:
                raise ReporterError(
                    f"{url} redirected ({status}) to {answer_headers.get('location')}; "
                    "set EXTCI_URL to the final address",
                    ExitCode.PROTOCOL,
                )
            problem = format_problem(status, reason, payload)
            if status not in RETRY_STATUSES:
                raise ReporterError(problem, exit_code_for(status))
            retry_after = retry_after_seconds(answer_headers.get("retry-after"))
            failure, code = problem.splitlines()[0], exit_code_for(status)
        delay = backoff(attempt, retry_after)
        if time.monotonic() + delay > deadline:
            raise ReporterError(f"{failure} (gave up retrying)", code)
        log(f"{failure}; retrying in {delay:.1f}s")
        time.sleep(delay)
        attempt += 1
