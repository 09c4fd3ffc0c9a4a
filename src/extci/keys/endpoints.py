from __future__ import annotations

from fastapi import APIRouter, Response

from extci.accounts.dependencies import ActorDep, Editor, Viewer
from extci.dependencies import SessionDep, SettingsDep
from extci.keys import service
from extci.keys.schemas import KeyCreate, KeyCreated, KeyOut
from extci.schemas import PageOut, PagingQuery

router = APIRouter(prefix="/components/{component_id}/ci-keys", tags=["ci-keys"])


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(
    session: SessionDep,
    settings: SettingsDep,
    component_id: str,
    body: KeyCreate,
    _user: Editor,
    actor: ActorDep,
) -> KeyCreated:
    new = service.create(
        session,
        settings.hmac_key,
        component_id,
        name=body.name,
        expires_at=body.expires_at,
        actor=actor,
    )
    return KeyCreated(**KeyOut.of(new.key).model_dump(), key=new.secret)


@router.get("", response_model=PageOut[KeyOut])
def list_keys(
    session: SessionDep, component_id: str, _user: Viewer, paging: PagingQuery
) -> PageOut[KeyOut]:
    page = service.list_keys(session, component_id, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, KeyOut.of)


@router.post("/{key_id}/suspend", response_model=KeyOut)
def suspend_key(
    session: SessionDep, component_id: str, key_id: int, _user: Editor, actor: ActorDep
) -> KeyOut:
    return KeyOut.of(service.suspend(session, component_id, key_id, actor=actor))


@router.post("/{key_id}/resume", response_model=KeyOut)
def resume_key(
    session: SessionDep, component_id: str, key_id: int, _user: Editor, actor: ActorDep
) -> KeyOut:
    return KeyOut.of(service.resume(session, component_id, key_id, actor=actor))


@router.delete("/{key_id}", status_code=204)
def delete_key(
    session: SessionDep, component_id: str, key_id: int, _user: Editor, actor: ActorDep
) -> Response:
    service.delete(session, component_id, key_id, actor=actor)
    return Response(status_code=204)
