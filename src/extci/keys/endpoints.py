from __future__ import annotations

from fastapi import APIRouter, Response

from extci.accounts.dependencies import EditorCall, ViewerCall
from extci.keys import service
from extci.keys.schemas import KeyCreate, KeyCreated, KeyOut
from extci.schemas import PageOut, PagingQuery

router = APIRouter(prefix="/components/{component_id}/ci-keys", tags=["ci-keys"])


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(call: EditorCall, component_id: str, body: KeyCreate) -> KeyCreated:
    new = service.create(
        call.session,
        call.settings.hmac_key,
        component_id,
        name=body.name,
        expires_at=body.expires_at,
        actor=call.actor,
    )
    return KeyCreated(**KeyOut.of(new.key).model_dump(), key=new.secret)


@router.get("", response_model=PageOut[KeyOut])
def list_keys(call: ViewerCall, component_id: str, paging: PagingQuery) -> PageOut[KeyOut]:
    page = service.list_keys(call.session, component_id, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, KeyOut.of)


@router.post("/{key_id}/suspend", response_model=KeyOut)
def suspend_key(call: EditorCall, component_id: str, key_id: int) -> KeyOut:
    return KeyOut.of(service.suspend(call.session, component_id, key_id, actor=call.actor))


@router.post("/{key_id}/resume", response_model=KeyOut)
def resume_key(call: EditorCall, component_id: str, key_id: int) -> KeyOut:
    return KeyOut.of(service.resume(call.session, component_id, key_id, actor=call.actor))


@router.delete("/{key_id}", status_code=204)
def delete_key(call: EditorCall, component_id: str, key_id: int) -> Response:
    service.delete(call.session, component_id, key_id, actor=call.actor)
    return Response(status_code=204)
