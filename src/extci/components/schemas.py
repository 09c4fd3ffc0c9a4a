from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from extci.builds.schemas import BuildSummary
from extci.components.kinds import CiMode, ComponentKind
from extci.components.service import ID_PATTERN
from extci.schemas import UNICODE_TEXT, ApiModel, Name, OneOf

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
