"""The webhook's event schemas with the limits the receiver enforces, for the OpenAPI
document: a body the document calls valid is one the receiver accepts.

The wire models (:mod:`extci.ingest.events`) check lengths against the configured
``Limits`` at validation time, which pydantic cannot put into a JSON schema; this adds them
to each string property by the validator it carries, with the limits of this server.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from extci.config import Limits
from extci.ingest import events

NO_NUL = r"^[^\x00]*$"
# What _web_url accepts, a little narrower where urlsplit's own rules get intricate (IPv6
# brackets, non-ASCII hosts): http or https in any case, an ASCII host, then anything but
# NUL; neither end a space or control character.
WEB_URL = (
    r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9._~!$&'()*+,;=:%@-]+"
    r"(?:[/?#](?:[^\x00]*[^\x00-\x20])?)?$"
)


def _rules(limits: Limits) -> dict[Callable[..., Any], dict[str, Any]]:
    # Keyed by the validator each string type of ingest.events carries.
    return {
        events._text: {"maxLength": limits.max_string_length, "pattern": NO_NUL},
        events._identifier: {"maxLength": limits.max_id_length, "pattern": NO_NUL},
        events._version: {"maxLength": limits.max_version_length, "pattern": NO_NUL},
        events._location: {"maxLength": limits.max_url_length, "pattern": NO_NUL},
        events._web_url: {"maxLength": limits.max_url_length, "pattern": WEB_URL},
    }


def _models(base: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for model in base.__subclasses__():
        yield model
        yield from _models(model)


def _validators(field: FieldInfo) -> Iterator[Callable[..., Any]]:
    """The AfterValidator functions of a field, also those inside ``X | None``."""
    metadata = list(field.metadata)
    for arg in get_args(field.annotation):
        metadata.extend(getattr(arg, "__metadata__", ()))
    for meta in metadata:
        if isinstance(meta, AfterValidator):
            yield meta.func


def _string_schemas(prop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if prop.get("type") == "string":
        yield prop
    for branch in prop.get("anyOf", []):
        yield from _string_schemas(branch)


def with_limits(defs: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """A copy of the event schemas ``defs`` stating ``limits`` on every string field."""
    defs = copy.deepcopy(defs)
    rules = _rules(limits)
    for model in _models(events.WireModel):
        schema = defs.get(model.__name__)
        if schema is None:
            continue
        for name, field in model.model_fields.items():
            for func in _validators(field):
                rule = rules.get(func)
                if rule is None:
                    continue
                for target in _string_schemas(schema["properties"][field.alias or name]):
                    target.update(rule)
        payload = schema["properties"].get("payload")
        if payload is not None:
            payload["maxItems"] = limits.max_payload_items
    return defs
