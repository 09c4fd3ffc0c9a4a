from __future__ import annotations

from fastapi import APIRouter, Response

from extci.accounts.dependencies import EditorCall, ViewerCall
from extci.schemas import PageOut, PagingQuery
from extci.trust import service
from extci.trust.schemas import TrustPolicyCreate, TrustPolicyOut

router = APIRouter(prefix="/components/{component_id}/trust-policies", tags=["trust-policies"])


@router.post("", status_code=201, response_model=TrustPolicyOut)
def create_trust_policy(
    call: EditorCall, component_id: str, body: TrustPolicyCreate
) -> TrustPolicyOut:
    policy = service.create(
        call.session,
        component_id,
        name=body.name,
        issuer=body.issuer,
        audience=body.audience,
        claims=body.claims,
        actor=call.actor,
        allow_http=call.settings.oidc_allow_http_issuers,
    )
    return TrustPolicyOut.of(policy)


@router.get("", response_model=PageOut[TrustPolicyOut])
def list_trust_policies(
    call: ViewerCall, component_id: str, paging: PagingQuery
) -> PageOut[TrustPolicyOut]:
    page = service.list_policies(
        call.session, component_id, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut.of(page, TrustPolicyOut.of)


@router.get("/{policy_id}", response_model=TrustPolicyOut)
def get_trust_policy(call: ViewerCall, component_id: str, policy_id: int) -> TrustPolicyOut:
    return TrustPolicyOut.of(service.get(call.session, component_id, policy_id))


@router.delete("/{policy_id}", status_code=204)
def delete_trust_policy(call: EditorCall, component_id: str, policy_id: int) -> Response:
    service.delete(call.session, component_id, policy_id, actor=call.actor)
    return Response(status_code=204)
