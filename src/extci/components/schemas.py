from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, StringConstraints

from extci.builds.schemas import BuildSummary
from extci.components.kinds import CiMode, ComponentKind
from extci.components.service import ID_PATTERN, ComponentFilter
from extci.schemas import UNICODE_TEXT, ApiModel, Name, OneOf, SearchQuery

KindIn = Annotated[str, OneOf(ComponentKind)]
CiModeIn = Annotated[str, OneOf(CiMode)]
ComponentId = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=ID_PATTERN.pattern), UNICODE_TEXT
]


class ComponentCreate(ApiModel):
    id: ComponentId
    name: Name | None = None
    kind: KindIn


class ComponentPatch(ApiModel):
    name: Name


class CIModeChange(ApiModel):
    mode: CiModeIn


class ComponentOut(ApiModel):
    id: str
    name: str
    kind: str
    ci_mode: str
    platform_builds: bool
    created_at: datetime
    updated_at: datetime
    latest_build: BuildSummary | None = None


class ComponentParams(BaseModel):
    """``?kind=``, ``?ciMode=`` and ``?q=`` of the components list (a query parameter
    model: FastAPI lists its fields as query parameters, in this order)."""

    kind: KindIn | None = None
    ciMode: CiModeIn | None = None
    q: SearchQuery = None

    def to_filter(self) -> ComponentFilter:
        return ComponentFilter(kind=self.kind, ci_mode=self.ciMode, query=self.q)


ComponentQuery = Annotated[ComponentParams, Query()]
