from __future__ import annotations

from datetime import datetime

from extci.schemas import ApiModel


class AuditEntryOut(ApiModel):
    id: int
    created_at: datetime
    actor: str  # a username, cli:<OS user>, or "system"
    address: str | None  # the client address; null for the command line
    action: str  # one of extci.audit.models.AuditAction
    component_id: str | None
    target: str
    details: dict[str, str]
