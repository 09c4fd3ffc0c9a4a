"""Rules shared by several domains' services."""

from __future__ import annotations

from datetime import datetime

from extci.errors import FieldError, ValidationFailed
from extci.pagination import MAX_ID

MAX_NAME_LENGTH = 255


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
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(
            "The expiry lies in the past.",
            errors=[FieldError("/expiresAt", "must be in the future")],
        )
    return expires_at
