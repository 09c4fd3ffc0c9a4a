"""Wire schemas of the CodeNOW External CI v1 events (docs/webhook.md, "The events").

The body is validated once, from raw bytes, into a discriminated union keyed by ``type``;
only these typed values travel inward. Length and character limits are configurable, so
they are checked against a ``Limits`` passed as validation context.
"""

from __future__ import annotations

import operator
import re
from functools import reduce
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    create_model,
)

from extci.builds.result_types import TYPES, ResultType, Value
from extci.config import Limits
from extci.schemas import UtcDatetime

WIRE_VERSION = "application/vnd.codenow.v1+json"
START = "codenow.ci.start.event"
RESULT = "codenow.ci.result.event"
END = "codenow.ci.end.event"
EVENT_TYPES = (START, RESULT, END)


DEFAULT_LIMITS = Limits()


def _limits(info: ValidationInfo) -> Limits:
    context = info.context
    return context if isinstance(context, Limits) else DEFAULT_LIMITS


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _bounded(value: str, limit: int) -> str:
    _no_nul(value)
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return value


def _text(value: str, info: ValidationInfo) -> str:
    return _bounded(value, _limits(info).max_string_length)


def _identifier(value: str, info: ValidationInfo) -> str:
    return _bounded(value, _limits(info).max_id_length)


def _version(value: str, info: ValidationInfo) -> str:
    return _bounded(value, _limits(info).max_version_length)


def _location(value: str, info: ValidationInfo) -> str:
    """A repository location: a URL, or scp-like git (git@host:org/repo) or a registry path."""
    return _bounded(value, _limits(info).max_url_length)


def _web_url(value: str, info: ValidationInfo) -> str:
    """A link the UI renders: absolute http(s) only, so no javascript: or data: URL gets in."""
    _bounded(value, _limits(info).max_url_length)
    if value[:1] <= " " or value[-1:] <= " ":  # trimmed away by browsers and urlsplit alike
        raise ValueError("must not begin or end with a space or control character")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http or https URL")
    return value


NonEmpty = StringConstraints(min_length=1)
Text = Annotated[str, NonEmpty, AfterValidator(_text)]
OptionalText = Annotated[str, AfterValidator(_text)]
Identifier = Annotated[str, NonEmpty, AfterValidator(_identifier)]
BuildVersion = Annotated[str, NonEmpty, AfterValidator(_version)]
Location = Annotated[str, NonEmpty, AfterValidator(_location)]
WebUrl = Annotated[str, NonEmpty, AfterValidator(_web_url)]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class WireModel(BaseModel):
    # Unknown properties are ignored (forward compatible); no type coercion (1 is not "1").
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


# ---- result items (docs/webhook.md) ----------------------------------------------------


class ResultItem(WireModel):
    version: Literal["v1"]
    if TYPE_CHECKING:
        type: str  # each type's model declares it as a Literal of its name

    def fields(self) -> dict[str, str]:
        """The item's content as stored and compared: wire names, no type/version, no nulls."""
        data = self.model_dump(by_alias=True, exclude={"type", "version"}, exclude_none=True)
        return {k: str(v) for k, v in data.items()}


# One model per type of the registry (builds/result_types.py), named as the registry says
# (GitRevision, Container, ...): the OpenAPI document and docs/webhook.md show them.
VALUES: dict[Value, Any] = {
    Value.TEXT: Text,
    Value.LOCATION: Location,
    Value.WEB_URL: WebUrl,
    Value.DIGEST: Digest,
}


def _snake(wire: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", wire).lower()


def _item_model(result_type: ResultType) -> type[ResultItem]:
    fields: dict[str, Any] = {"type": (Literal[result_type.name], ...)}
    for f in result_type.fields:
        name = _snake(f.wire)
        alias = f.wire if name != f.wire else None
        if f.required:
            fields[name] = (VALUES[f.value], Field(alias=alias))
        else:
            fields[name] = (VALUES[f.value] | None, Field(default=None, alias=alias))
    return create_model(result_type.model_name, __base__=ResultItem, __module__=__name__, **fields)


ITEM_MODELS: dict[str, type[ResultItem]] = {t.name: _item_model(t) for t in TYPES}

if TYPE_CHECKING:
    AnyResultItem = ResultItem
else:
    AnyResultItem = Annotated[
        reduce(operator.or_, ITEM_MODELS.values()), Field(discriminator="type")
    ]


# ---- events (docs/webhook.md) ----------------------------------------------------------------


class Actor(WireModel):
    username: Text
    fullname: OptionalText | None = None


class Envelope(WireModel):
    version: Literal["application/vnd.codenow.v1+json"]
    pipeline_id: Identifier = Field(alias="pipelineId")
    created_at: UtcDatetime | None = Field(default=None, alias="createdAt")


class StartEvent(Envelope):
    type: Literal["codenow.ci.start.event"]
    component_id: Identifier = Field(alias="componentId")
    build_version: BuildVersion = Field(alias="buildVersion")
    actor: Actor | None = None
    pipeline_name: OptionalText | None = Field(default=None, alias="pipelineName")
    dashboard_url: WebUrl | None = Field(default=None, alias="dashboardUrl")

    def content(self) -> dict[str, Any]:
        """What a retried start must repeat to count as the same event (createdAt aside)."""
        return self.model_dump(by_alias=True, exclude={"created_at", "version", "type"})


def _payload_size(items: list[Any], info: ValidationInfo) -> list[Any]:
    limit = _limits(info).max_payload_items
    if len(items) > limit:
        raise ValueError(f"must hold at most {limit} items")
    return items


class ResultEvent(Envelope):
    type: Literal["codenow.ci.result.event"]
    payload: Annotated[list[AnyResultItem], Field(min_length=1), AfterValidator(_payload_size)]


class EndEvent(Envelope):
    type: Literal["codenow.ci.end.event"]
    # CANCELED, one L, as the contract spells it; the build becomes CANCELLED (builds/state.py).
    result: Literal["SUCCESSFUL", "FAILED", "CANCELED"]


Event = Annotated[StartEvent | ResultEvent | EndEvent, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[StartEvent | ResultEvent | EndEvent] = TypeAdapter(Event)
