from __future__ import annotations

from fastapi import APIRouter

from extci.accounts.dependencies import Admin
from extci.audit import service
from extci.audit.models import AuditAction
from extci.audit.schemas import AuditEntryOut
from extci.dependencies import SessionDep
from extci.pagination import DEFAULT_LIMIT
from extci.schemas import CursorQuery, LimitQuery, PageOut, SearchQuery

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=PageOut[AuditEntryOut])
def list_audit_entries(
    session: SessionDep,
    _admin: Admin,
    component: SearchQuery = None,
    actor: SearchQuery = None,
    action: AuditAction | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> PageOut[AuditEntryOut]:
    page = service.list_entries(
        session, component_id=component, actor=actor, action=action, cursor=cursor, limit=limit
    )
    items = [AuditEntryOut.model_validate(e) for e in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)
