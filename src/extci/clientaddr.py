"""The address a request came from, as the audit log and the sign-in throttle record it.

One function, so that trusting a reverse proxy's ``X-Forwarded-For`` later changes one place.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"


def client_address(request: HTTPConnection) -> str:
    """The peer's IP address (``request.client.host``), or ``"unknown"`` when the server
    was not told (some test transports, Unix sockets)."""
    return request.client.host if request.client else UNKNOWN
