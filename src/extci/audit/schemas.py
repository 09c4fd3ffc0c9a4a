from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from extci.audit.models import AuditAction
from extci.audit.service import AuditFilter
from extci.schemas import ApiModel, SearchQuery


class AuditEntryOut(ApiModel):
    id: int
    created_at: datetime
    actor: str  # a username, cli:<OS user>, or "system"
    address: str | None  # the client address; null for the command line
    action: str  # one of extci.audit.models.AuditAction
    component_id: str | None
    target: str
    details: dict[str, str]


class AuditParams(BaseModel):
    """``?component=``, ``?actor=`` and ``?action=`` of the audit log (a query parameter
    model: FastAPI lists its fields as query parameters, in this order)."""

    component: SearchQuery = None
    actor: SearchQuery = None
    action: AuditAction | None = None

    def to_filter(self) -> AuditFilter:
        return AuditFilter(component_id=self.component, actor=self.actor, action=self.action)


AuditQuery = Annotated[AuditParams, Query()]
