"""Durations as settings and command lines write them: ``90`` (seconds), ``500ms``, ``90s``,
``1.5m``, ``24h``, ``7d``, ``0.5d``: a whole or decimal number and an optional unit (``ms``,
``s``, ``m``, ``h``, ``d``; none means seconds), spaces allowed around and between them.

The server's ``EXTCI_*`` settings and the reporter's ``--retry-for``, ``--timeout`` and
``EXTCI_RETRY_FOR`` read this one syntax. Standard library only, and valid on Python 3.9:
the reporter zipapp that the server serves carries this module (extci.downloads.bundle).
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}

EXAMPLES = "90s, 1.5m, 24h or 7d"


def parse_duration(value: object) -> timedelta:
    """``value`` as a duration: text in the syntax above, a number of seconds, or a
    ``timedelta`` as it is. Anything else is a ``ValueError``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as {EXAMPLES}")
    number, unit = match.groups()
    if "." in number:
        return timedelta(seconds=float(number) * _SECONDS[unit])
    return timedelta(seconds=int(number) * _SECONDS[unit])
