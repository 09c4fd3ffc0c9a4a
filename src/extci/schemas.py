"""The JSON conventions of the API: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from extci.pagination import MAX_LIMIT

T = TypeVar("T")

# ?limit= of every list: default 50, at most 200.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _utc_representable(value: datetime) -> datetime:
    """Times are stored in UTC: 9999-12-31T23:59-01:00 has no UTC datetime and is a 400."""
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("must be a date-time that exists in UTC (years 1-9999)") from None
    return value


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


class Problem(BaseModel):
    """application/problem+json (RFC 9457), as every error of this API is sent."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
