from __future__ import annotations

from fastapi import APIRouter

from extci.accounts.dependencies import AdminCall
from extci.audit import service
from extci.audit.schemas import AuditEntryOut, AuditQuery
from extci.schemas import PageOut, PagingQuery

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=PageOut[AuditEntryOut])
def list_audit_entries(
    call: AdminCall, filters: AuditQuery, paging: PagingQuery
) -> PageOut[AuditEntryOut]:
    page = service.list_entries(
        call.session, filters.to_filter(), cursor=paging.cursor, limit=paging.limit
    )
    return PageOut.of(page, AuditEntryOut.model_validate)
