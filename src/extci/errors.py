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


class BadRequest(ExtciError):
    status, slug, title = 400, "bad-request", "Bad request"


class ValidationFailed(ExtciError):
    status, slug, title = 400, "validation-error", "Invalid request"


class Unauthorized(ExtciError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ExtciError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ExtciError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ExtciError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ExtciError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ExtciError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRequests(ExtciError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(ExtciError):
    status, slug, title = 503, "unavailable", "Service unavailable"
