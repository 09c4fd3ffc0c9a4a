"""Exit codes of the ``extci`` commands and the one-line messages for what went wrong.

The numbers follow BSD ``sysexits.h``, as ``extci report`` does (extci.reporter.errors); a
command gives the same code whether it ran on the local database or against a server,
because both answer with the same problem details (RFC 9457).
"""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 2  # bad arguments (also argparse's own code)
    DATAERR = 65  # the request was refused: invalid (400, 422) or in conflict (409)
    NOINPUT = 66  # no such component, build, key, user or token (404)
    UNAVAILABLE = 69  # TLS failed: the server's certificate was not trusted
    SOFTWARE = 70  # the server failed (500)
    TEMPFAIL = 75  # unreachable, rate limited (429) or unavailable (503): try again later
    PROTOCOL = 76  # an answer that is not the API's (redirect, HTML, not JSON)
    NOPERM = 77  # 401 (log in again) or 403 (a role the user lacks)
    CONFIG = 78  # nothing to talk to: no server configured and no local database


def exit_code_for(status: int) -> ExitCode:
    """``extci report``'s code for an HTTP status (the same numbers), but for 404: a command
    names the thing it wants, and it does not exist."""
    from extci.reporter.transport import exit_code_for as report_exit_code

    if status == 404:
        return ExitCode.NOINPUT
    return ExitCode(int(report_exit_code(status)))


class CliError(Exception):
    """A failure shown as its message (one line, plus field errors) and an exit code."""

    def __init__(self, message: str, exit_code: ExitCode, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or []


class ApiError(CliError):
    """A problem details answer (RFC 9457), from the server or from the local services."""

    def __init__(
        self,
        problem: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        remote: str | None = None,
    ) -> None:
        status = problem.get("status")
        self.status = status if isinstance(status, int) else 500
        self.problem = problem
        self.headers = headers or {}
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {self.status}")
        errors = [
            f"{e.get('pointer') or '/'}: {e.get('detail', '')}"
            for e in problem.get("errors") or []
            if isinstance(e, dict)
        ]
        hint = _hint(self.status, self.headers, remote)
        super().__init__(f"{detail} {hint}".rstrip(), exit_code_for(self.status), errors)


def _hint(status: int, headers: dict[str, str], remote: str | None) -> str:
    """What to do about it, for the answers only a server gives."""
    if remote is None:
        return ""
    if status == 401:
        return f"(log in again: extci login --server {remote})"
    if status == 403:
        return "(ask an admin of the server for a role that allows this)"
    if status in (429, 503):
        wait = headers.get("retry-after", "").strip()
        return f"(wait {wait} s and try again)" if wait.isdigit() else "(try again later)"
    return ""
