from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from extci.accounts.dependencies import ActorDep, Admin, Editor, Viewer
from extci.builds import service as builds
from extci.builds.dependencies import AsOfDep
from extci.builds.schemas import BuildSummary
from extci.builds.state import AsOf
from extci.components import service
from extci.components.models import Component
from extci.components.schemas import (
    CIModeChange,
    ComponentCreate,
    ComponentOut,
    ComponentPatch,
    ComponentQuery,
)
from extci.dependencies import SessionDep
from extci.schemas import PageOut, PagingQuery

router = APIRouter(prefix="/components", tags=["components"])


def present(session: Session, as_of: AsOf, rows: list[Component]) -> list[ComponentOut]:
    latest = builds.latest(session, [c.id for c in rows], as_of)
    out = []
    for c in rows:
        item = ComponentOut.model_validate(c)
        if c.id in latest:
            item.latest_build = BuildSummary.of(latest[c.id])
        out.append(item)
    return out


@router.get("", response_model=PageOut[ComponentOut])
def list_components(
    session: SessionDep,
    as_of: AsOfDep,
    _user: Viewer,
    filters: ComponentQuery,
    paging: PagingQuery,
) -> PageOut[ComponentOut]:
    page = service.list_components(
        session, filters.wanted(), cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(items=present(session, as_of, page.items), next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=ComponentOut)
def create_component(session: SessionDep, body: ComponentCreate, _user: Editor) -> ComponentOut:
    return ComponentOut.model_validate(service.create(session, body.id, body.name, body.kind))


@router.get("/{component_id}", response_model=ComponentOut)
def get_component(
    session: SessionDep, as_of: AsOfDep, component_id: str, _user: Viewer
) -> ComponentOut:
    return present(session, as_of, [service.get(session, component_id)])[0]


@router.patch("/{component_id}", response_model=ComponentOut)
def patch_component(
    session: SessionDep,
    as_of: AsOfDep,
    component_id: str,
    body: ComponentPatch,
    _u: Editor,
) -> ComponentOut:
    return present(session, as_of, [service.rename(session, component_id, body.name)])[0]


@router.delete("/{component_id}", status_code=204)
def delete_component(
    session: SessionDep, component_id: str, _user: Admin, actor: ActorDep
) -> Response:
    service.delete(session, component_id, actor=actor)
    return Response(status_code=204)


@router.put("/{component_id}/ci-mode", response_model=ComponentOut)
def put_ci_mode(
    session: SessionDep,
    as_of: AsOfDep,
    component_id: str,
    body: CIModeChange,
    _u: Editor,
    actor: ActorDep,
) -> ComponentOut:
    component = service.set_ci_mode(session, component_id, body.mode, actor=actor)
    return present(session, as_of, [component])[0]
