"""Bytes to a typed event, or a 400 whose ``errors`` point at the offending fields."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from extci.builds.result_types import NAMES as RESULT_TYPES
from extci.config import Limits
from extci.errors import BadRequest, FieldError, ValidationFailed, json_pointer
from extci.ingest.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    EndEvent,
    ResultEvent,
    StartEvent,
)

_TAGS = frozenset(EVENT_TYPES) | frozenset(RESULT_TYPES)


def _pointer(loc: tuple[str | int, ...]) -> str:
    # The discriminated union puts the tag into the location; the body has no such level.
    parts = [p for p in loc if not (isinstance(p, str) and p in _TAGS)]
    return json_pointer(parts)


def _message(error: ErrorDetails) -> tuple[tuple[str | int, ...], str]:
    loc, kind = tuple(error["loc"]), error["type"]
    if kind == "missing":
        return loc, "field required"
    if kind == "union_tag_not_found":
        return (*loc, "type"), "field required"
    if kind == "union_tag_invalid":
        allowed = EVENT_TYPES if len(loc) == 0 else RESULT_TYPES
        return (*loc, "type"), "must be one of: " + ", ".join(allowed)
    if kind == "literal_error":
        return loc, "must be " + error["msg"].removeprefix("Input should be ")
    if kind == "value_error":
        return loc, error["msg"].removeprefix("Value error, ")
    return loc, error["msg"][:1].lower() + error["msg"][1:]


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise BadRequest(
            "The body names a property more than once: " + ", ".join(map(repr, twice)) + "."
        )
    return dict(pairs)


def parse_event(body: bytes, limits: Limits) -> StartEvent | ResultEvent | EndEvent:
    """Validate once from raw bytes. A property named twice (``type`` above all) would be
    read last-wins by one JSON parser and first-wins by another: refused with 400."""
    try:
        event = EVENT_ADAPTER.validate_json(body, context=limits)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = errors[0]["type"] if errors else ""
        if first == "json_invalid":
            raise BadRequest("The body is not valid JSON.") from None
        if first in ("model_attributes_type", "dict_type") and errors[0]["loc"] == ():
            raise BadRequest("The body must be a JSON object.") from None
        fields = [FieldError(_pointer(loc), msg) for loc, msg in map(_message, errors)]
        raise ValidationFailed(
            f"The event has {len(fields)} invalid field(s).", errors=fields
        ) from None
    json.loads(body, object_pairs_hook=_refuse_duplicates)  # valid JSON: it parsed above
    return event
