"""Keyset pagination: an opaque cursor naming the last row of the previous page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from extci.errors import FieldError, ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(pointer: str = "/cursor") -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this server issued.",
        errors=[FieldError(pointer, "use the cursor the previous page gave")],
    )


def _decode(cursor: str, arity: int, pointer: str = "/cursor") -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise _invalid(pointer)
    return values


# The largest id an INTEGER key holds on both databases; builds, results and events have
# 64-bit keys on PostgreSQL (BIG_MAX_ID).
def _storable_text(value: object) -> bool:
    """A string both databases can bind: valid UTF-8 (no lone surrogates), no NUL."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


MAX_ID = 2**31 - 1
BIG_MAX_ID = 2**63 - 1


def decode_id_cursor(
    cursor: str | None, max_id: int = MAX_ID, *, pointer: str = "/cursor"
) -> int | None:
    """The id of the last row of the previous page (rows are ordered by id)."""
    if cursor is None:
        return None
    (value,) = _decode(cursor, 1, pointer)
    if type(value) is not int or not 0 < value <= max_id:
        raise _invalid(pointer)
    return value


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """(created_at, id) of the last row of the previous page."""
    if cursor is None:
        return None
    when, key = _decode(cursor, 2)
    try:
        moment = datetime.fromisoformat(when) if isinstance(when, str) else None
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(UTC)  # 9999-12-31T23:59-01:00 has no UTC time
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment.tzinfo is None or not _storable_text(key):
        raise _invalid()
    return moment, key


def page_of(rows: list[T], limit: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """Cut a result fetched with ``limit + 1`` rows into a page and the next cursor."""
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]))


def every(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """All items of a paginated listing, page after page (``fetch(cursor)`` gives a page)."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if (cursor := page.next_cursor) is None:
            return
