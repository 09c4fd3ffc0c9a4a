"""The JSON conventions of the API: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from extci.clock import in_utc
from extci.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from extci.validation import MAX_NAME_LENGTH, NOT_UNICODE, is_unicode_text

T = TypeVar("T")
S = TypeVar("S")

# ?limit= of every list: default 50, at most 200.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
# ?cursor= is opaque, but never empty: it is the nextCursor of the previous page (base64url).
CursorQuery = Annotated[str | None, Query(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")]
# Free-text filters (?q=, ?branch=, ?version=): any text but NUL, which PostgreSQL refuses.
NO_NUL = r"^[^\x00]*$"
SearchQuery = Annotated[str | None, Query(pattern=NO_NUL)]


class Paging(BaseModel):
    """The ?cursor= and ?limit= every list takes (a query parameter model: FastAPI lists
    its fields as two query parameters, in this order)."""

    cursor: CursorQuery = None
    limit: LimitQuery = DEFAULT_LIMIT


PagingQuery = Annotated[Paging, Query()]


def _unicode_text(value: object) -> object:
    # Before pydantic's own str checks, so the client reads why, not "unable to parse".
    if isinstance(value, str) and not is_unicode_text(value):
        raise ValueError(NOT_UNICODE)
    return value


# Every string a client sends (JSON bodies, form fields): refused with a 400 pointing at the
# field when it holds a lone surrogate, before it can reach a database driver and fail there.
UNICODE_TEXT = BeforeValidator(_unicode_text)
Text = Annotated[str, UNICODE_TEXT]

# A display name (component, CI key, token) as the OpenAPI document states it and the server
# enforces it: 1-255 characters, not blank, no NUL (stored trimmed; validation.display_name).
# "Blank" is spelled out as the characters Python's str.strip removes: ``\s`` means three
# different things in Python, pydantic's Rust engine and the ECMA regexes of OpenAPI
# clients (U+0085 is whitespace to the first two only).
NAME_PATTERN = (
    r"^[^\x00]*[^\x00\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000][^\x00]*$"
)
# (Constraints go before UNICODE_TEXT: after it, pydantic leaves the pattern out of the
# JSON schema.)
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN),
    UNICODE_TEXT,
]


def _utc_representable(value: datetime) -> datetime:
    """Times are stored in UTC: 9999-12-31T23:59-01:00 has no UTC datetime and is a 400."""
    in_utc(value)
    return value


class OneOf:
    """``Annotated[str, OneOf(Role)]``: a string that must be one of a StrEnum's values, and is
    validated into that member. The schema states it in place, ``{"enum": [...], "type":
    "string"}`` with the field's title, exactly as a ``Literal`` of the values would: the
    enum's values are the API's, but the enum is no schema component of its own (hence
    ``str``, not the enum, as the annotated type: FastAPI lists every Enum class it finds)."""

    def __init__(self, enum: type[StrEnum]) -> None:
        self.enum = enum

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.enum_schema(self.enum, list(self.enum), sub_type="str")

    def __get_pydantic_json_schema__(
        self, _schema: CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": [m.value for m in self.enum], "type": "string"}


# An RFC 3339 date-time with an offset, that can be stored as UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc_representable)]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        from_attributes=True,
    )


class PageOut(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[S], item: Callable[[S], T]) -> PageOut[T]:
        """A page of rows as the API sends it, each row turned into its schema by ``item``."""
        return cls(items=[item(row) for row in page.items], next_cursor=page.next_cursor)


class Problem(BaseModel):
    """application/problem+json (RFC 9457), as every error of this API is sent."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
    requestId: str | None = Field(
        None, description="This request's id, as in the X-Request-Id header and the log."
    )
