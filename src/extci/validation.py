"""Rules shared by several domains' services."""

from __future__ import annotations

from datetime import datetime

from extci.clock import in_utc
from extci.errors import FieldError, ValidationFailed
from extci.pagination import MAX_ID

MAX_NAME_LENGTH = 255
NOT_UNICODE = "must be Unicode text: a lone UTF-16 surrogate (such as \\ud800) is no character"


def is_unicode_text(value: str) -> bool:
    """Whether ``value`` is text that UTF-8 (the databases, the responses) can carry.

    JSON's ``"\\ud800"`` escape and some form charsets (``unicode_escape``, ``utf-7``)
    decode to lone UTF-16 surrogates: Python holds them in a ``str``, but they are no
    characters and encoding them fails deep inside a database driver.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(value: str, what: str) -> str:
    """A human-given name (component, key, token): trimmed, 1-255 characters, no NUL."""
    name = value.strip()
    if not name or len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise ValidationFailed(
            f"Invalid {what} name.",
            errors=[FieldError("/name", f"must be 1-{MAX_NAME_LENGTH} characters, without NUL")],
        )
    return name


def search_text(value: str | None, pointer: str) -> str | None:
    """A filter a list is narrowed by: any text but NUL, which no stored value holds and
    PostgreSQL refuses outright; refused the same way on every database."""
    if value is not None and "\x00" in value:
        raise ValidationFailed(
            "A filter holds a NUL character.", errors=[FieldError(pointer, "must not hold NUL")]
        )
    return value


def storable_id(value: int) -> bool:
    """Whether a numeric id can name a row at all (INTEGER keys: 1 .. 2**31-1 on both)."""
    return 0 < value <= MAX_ID


def future_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """An expiry in the future, in UTC (or none); a 400 at /expiresAt otherwise."""
    if expires_at is None:
        return None
    try:
        expires_at = in_utc(expires_at)
    except ValueError as exc:
        raise ValidationFailed(
            "The expiry cannot be stored.", errors=[FieldError("/expiresAt", str(exc))]
        ) from None
    if expires_at <= now:
        raise ValidationFailed(
            "The expiry lies in the past.",
            errors=[FieldError("/expiresAt", "must be in the future")],
        )
    return expires_at
