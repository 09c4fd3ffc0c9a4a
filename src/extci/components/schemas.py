from __future__ import annotations

from datetime import datetime
from typing import Literal

from extci.builds.schemas import BuildSummary
from extci.schemas import ApiModel


class ComponentCreate(ApiModel):
    id: str
    name: str | None = None
    kind: Literal["application-component", "library"]


class ComponentPatch(ApiModel):
    name: str


class CIModeChange(ApiModel):
    mode: Literal["external", "platform"]


class ComponentOut(ApiModel):
    id: str
    name: str
    kind: str
    ci_mode: str
    platform_builds: bool
    created_at: datetime
    updated_at: datetime
    latest_build: BuildSummary | None = None
