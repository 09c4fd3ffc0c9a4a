"""One error base class with a status code; one handler renders problem+json (RFC 9457)."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

# The id of the HTTP request being handled (set by extci.logs.RequestLog): every problem
# body names it, so a user's error report can be found in the server's log.
REQUEST_ID: ContextVar[str | None] = ContextVar("extci_request_id", default=None)


@dataclass(frozen=True)
class FieldError:
    pointer: str  # JSON pointer into the request body, e.g. /payload/1/commitSha
    detail: str


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901: ``("payload", 1, "a/b")`` → ``/payload/1/a~1b``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class ExtciError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init_subclass__(
        cls, *, status: int | None = None, title: str | None = None, slug: str | None = None
    ) -> None:
        """``class NotFound(ExtciError, status=404, title="Not found")``: a subclass without
        them keeps its parent's."""
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title
            cls.slug = slug or title.lower().replace(" ", "-")

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:extci:problem:{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in self.errors]
        return with_request_id(body)


def with_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body with the current request's id (``requestId``), when there is one."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        body["requestId"] = request_id
    return body


# The problems the API answers, by status. A problem's ``type`` is
# urn:extci:problem:<slug>, the slug its title in lower case with dashes unless it is given.


class BadRequest(ExtciError, status=400, title="Bad request"):
    """The request cannot be read: not JSON, an unknown event type, a malformed header."""


class ValidationFailed(ExtciError, status=400, title="Invalid request", slug="validation-error"):
    """Readable, but a value is wrong; ``errors`` point at each field (JSON pointers)."""


class Unauthorized(ExtciError, status=401, title="Unauthorized"):
    """No credentials, or ones that are unknown, revoked or expired."""


class Forbidden(ExtciError, status=403, title="Forbidden"):
    """Known credentials without the right: a viewer's write, another component's key,
    a wrong CSRF token."""


class NotFound(ExtciError, status=404, title="Not found"):
    """No such component, build, key, user, policy or subscription."""


class Conflict(ExtciError, status=409, title="Conflict"):
    """The request contradicts what is stored: a name taken, a build that has ended, a race
    lost to a concurrent change (a retry gets the ordinary answer)."""


class PayloadTooLarge(ExtciError, status=413, title="Payload too large"):
    """The body is over its limit (EXTCI_MAX_BODY_BYTES and its siblings); it was not read."""


class UnsupportedMediaType(ExtciError, status=415, title="Unsupported media type"):
    """A Content-Type the route does not take."""


class TooManyRequests(ExtciError, status=429, title="Too many requests", slug="rate-limited"):
    """Over a budget (a CI key's requests a minute, failed sign-ins); ``Retry-After`` says
    when to come back."""


class ServiceUnavailable(ExtciError, status=503, title="Service unavailable", slug="unavailable"):
    """Nothing was done and a retry is safe: the database is busy or unreachable, the writer
    is full, the server is stopping. Carries ``Retry-After``."""
