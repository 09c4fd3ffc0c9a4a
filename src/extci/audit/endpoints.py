from __future__ import annotations

from fastapi import APIRouter

from extci.accounts.dependencies import AdminCall
from extci.audit import service
from extci.audit.models import AuditAction
from extci.audit.schemas import AuditEntryOut
from extci.schemas import PageOut, PagingQuery, SearchQuery

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=PageOut[AuditEntryOut])
def list_audit_entries(
    call: AdminCall,
    *,
    component: SearchQuery = None,
    actor: SearchQuery = None,
    action: AuditAction | None = None,
    paging: PagingQuery,
) -> PageOut[AuditEntryOut]:
    page = service.list_entries(
        call.session,
        component_id=component,
        actor=actor,
        action=action,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return PageOut.of(page, AuditEntryOut.model_validate)
