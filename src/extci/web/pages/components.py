"""The components list, one component's page (keys, history) and its CI mode."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from fastapi.routing import APIRouter
from sqlalchemy.orm import Session

from extci.accounts.roles import Role
from extci.builds import service as builds
from extci.builds.service import HistoryFilter
from extci.builds.state import BuildStatus
from extci.components import service as components
from extci.components.kinds import ComponentKind
from extci.components.models import Component
from extci.components.service import ComponentFilter
from extci.dependencies import SessionDep
from extci.errors import ExtciError
from extci.keys import service as keys
from extci.keys.models import CIKey
from extci.keys.schemas import KeyOut
from extci.pagination import MAX_LIMIT, every
from extci.web.auth import EditorForm
from extci.web.pages.common import NOTICES, Field, base_url, field_errors, see_other
from extci.web.pages.context import EditorFormPage, Page, VisitorPage
from extci.web.pages.delivery import Delivery

router = APIRouter(include_in_schema=False)
HISTORY_PAGE = 25
KEY_NOTICES = frozenset({"suspended", "resumed", "deleted"})


def _components_page(
    page: Page,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    filters = page.filters("q", "kind", "ciMode")
    given = {name: value or None for name, value in filters.items()}
    wanted = ComponentFilter(kind=given["kind"], ci_mode=given["ciMode"], query=given["q"])
    listing = components.list_components(page.session, wanted, cursor=page.cursor, limit=50)
    latest = builds.latest(page.session, [c.id for c in listing.items], page.as_of)
    next_url = None
    if listing.next_cursor:
        next_url = "/components?" + urlencode({**filters, "cursor": listing.next_cursor})
    return page.render(
        "components.html",
        {
            "components": listing.items,
            "latest": latest,
            "filters": filters,
            "filtered": any(filters.values()) or bool(page.cursor),
            "next_url": next_url,
            "kinds": list(ComponentKind),
            "form": form or {"id": "", "name": "", "kind": ComponentKind.APPLICATION_COMPONENT},
            "errors": errors or {},
            "notice": NOTICES.get(page.done),
            # A POST answered with this page: the address bar goes back to the list.
            "page_url": "/components#create" if page.request.method == "POST" else None,
        },
        status_code=status_code,
    )


@router.get("/components")
def components_list(page: VisitorPage) -> Response:
    return _components_page(page)


@router.post("/components")
def components_create(
    page: EditorFormPage, id: Field = "", name: Field = "", kind: Field = ""
) -> Response:
    form = {"id": id.strip(), "name": name, "kind": kind}
    try:
        component = components.create(page.session, form["id"], name.strip() or None, kind)
    except ExtciError as exc:
        errors = field_errors(exc)
        if exc.status == 409:
            errors = {"id": exc.detail}
        page.session.rollback()
        return _components_page(page, form=form, errors=errors, status_code=exc.status)
    return see_other(f"/components/{component.id}?done=created")


def _all_keys(session: Session, component_id: str) -> list[CIKey]:
    """Every key of the component: the page lists them all (there are a handful)."""
    return list(every(lambda c: keys.list_keys(session, component_id, cursor=c, limit=MAX_LIMIT)))


def component_context(page: Page, component_id: str) -> dict[str, Any]:
    """Everything ``component.html`` shows; the key form's values and errors start empty."""
    session, settings = page.session, page.settings
    component = components.get(session, component_id)
    filters = page.filters("status", "branch")
    cursor = page.cursor
    history = builds.history(
        session,
        component_id,
        filters=HistoryFilter(status=filters["status"] or None, branch=filters["branch"] or None),
        as_of=page.as_of,
        cursor=cursor,
        limit=HISTORY_PAGE,
    )
    base = f"/components/{component.id}"
    active = {k: v for k, v in filters.items() if v}
    live_query = urlencode({**active, **({"cursor": cursor} if cursor else {}), "fragment": "1"})
    return {
        "component": component,
        "keys": [KeyOut.of(k) for k in _all_keys(session, component_id)],
        "history": history.items,
        "filters": filters,
        "statuses": list(BuildStatus),
        "older_url": (
            f"{base}?{urlencode({**active, 'cursor': history.next_cursor})}#history"
            if history.next_cursor
            else None
        ),
        "newest_url": f"{base}?{urlencode(active)}#history" if cursor else None,
        "live_src": f"{base}?{live_query}",
        "webhook_url": base_url(page.request, settings) + "/ci/webhook",
        "notice": NOTICES.get(page.done),
        # A key's notice shows in the keys section, where the person clicked.
        "notice_at": "keys" if page.done in KEY_NOTICES else "top",
        # History first once there is any (a filter or an older page implies there is).
        "has_builds": bool(history.items or active or cursor),
        "key_values": {"name": "", "expires": ""},
        "key_errors": {},
        "new_key": None,
        "delivery": Delivery(session, component.id, filters["branch"] or None, page.as_of),
    }


def component_page_at(
    page: Page, component_id: str, section: str, extra: dict[str, Any], status_code: int = 200
) -> Response:
    """The component page answering a form posted from one of its sections (keys, trust),
    with ``extra`` in its context; the address bar goes back to that section."""
    context = component_context(page, component_id)
    context.update(extra)
    context["page_url"] = f"/components/{component_id}#{section}"
    return page.render("component.html", context, status_code=status_code)


def editable_component(page: Page, component_id: str) -> Component:
    """The component, for a page only an editor may open (403 for anyone else)."""
    page.require(Role.EDITOR)
    return components.get(page.session, component_id)


@router.get("/components/{component_id}")
def component_page(page: VisitorPage, component_id: str, fragment: str = "") -> Response:
    context = component_context(page, component_id)
    return page.render("_history.html" if fragment else "component.html", context)


@router.get("/components/{component_id}/ci-mode")
def ci_mode_confirm(page: VisitorPage, component_id: str) -> Response:
    """The confirmation as a page of its own, for browsers without JavaScript."""
    return page.render("confirm_mode.html", {"component": editable_component(page, component_id)})


@router.post("/components/{component_id}/ci-mode")
def ci_mode_switch(
    session: SessionDep, visitor: EditorForm, component_id: str, mode: Field = ""
) -> Response:
    component = components.set_ci_mode(session, component_id, mode, actor=visitor.actor)
    return see_other(f"/components/{component.id}?done={component.ci_mode}")
