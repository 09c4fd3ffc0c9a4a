from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from extci.accounts.dependencies import AdminCall, EditorCall, ViewerCall
from extci.builds import service as builds
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
from extci.dependencies import AsOfDep
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
    call: ViewerCall, as_of: AsOfDep, filters: ComponentQuery, paging: PagingQuery
) -> PageOut[ComponentOut]:
    page = service.list_components(
        call.session, filters.to_filter(), cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(items=present(call.session, as_of, page.items), next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=ComponentOut)
def create_component(call: EditorCall, body: ComponentCreate) -> ComponentOut:
    component = service.create(call.session, body.id, body.name, body.kind)
    return ComponentOut.model_validate(component)


@router.get("/{component_id}", response_model=ComponentOut)
def get_component(call: ViewerCall, as_of: AsOfDep, component_id: str) -> ComponentOut:
    return present(call.session, as_of, [service.get(call.session, component_id)])[0]


@router.patch("/{component_id}", response_model=ComponentOut)
def patch_component(
    call: EditorCall, as_of: AsOfDep, component_id: str, body: ComponentPatch
) -> ComponentOut:
    component = service.rename(call.session, component_id, body.name)
    return present(call.session, as_of, [component])[0]


@router.delete("/{component_id}", status_code=204)
def delete_component(call: AdminCall, component_id: str) -> Response:
    service.delete(call.session, component_id, actor=call.actor)
    return Response(status_code=204)


@router.put("/{component_id}/ci-mode", response_model=ComponentOut)
def put_ci_mode(
    call: EditorCall, as_of: AsOfDep, component_id: str, body: CIModeChange
) -> ComponentOut:
    component = service.set_ci_mode(call.session, component_id, body.mode, actor=call.actor)
    return present(call.session, as_of, [component])[0]
