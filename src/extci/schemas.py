"""The JSON conventions of the API: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


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
