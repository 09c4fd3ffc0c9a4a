"""Exit codes of ``extci report`` and the error that carries one.

The numbers follow BSD ``sysexits.h`` so they do not collide with the small codes that
build tools use; ``run`` passes the wrapped command's own code through unchanged.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 2  # bad arguments or missing configuration (also argparse's own code)
    REJECTED = 65  # EX_DATAERR: the server refused the event (400, 404, 409, 413, 415, 422)
    SERVER_ERROR = 70  # EX_SOFTWARE: the server failed (500)
    UNAVAILABLE = 75  # EX_TEMPFAIL: unreachable, 429 or 503 until the retry time ran out
    PROTOCOL = 76  # EX_PROTOCOL: an answer that is not the contract's (redirect, not JSON)
    AUTH = 77  # EX_NOPERM: 401 or 403, the CI key is wrong or not for this component


class ReporterError(Exception):
    """A failure reported as one readable message and an exit code."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
