"""A component's CI keys: generate (shown once), suspend, resume, delete."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.accounts.roles import Role
from extci.clock import parse_expiry
from extci.components import service as components
from extci.dependencies import SessionDep
from extci.errors import FieldError, ValidationFailed
from extci.keys import service as keys
from extci.keys.schemas import KeyOut
from extci.web.auth import EditorForm
from extci.web.pages.common import Field, field_errors, see_other
from extci.web.pages.components import component_page_at, editable_component
from extci.web.pages.context import EditorFormPage, VisitorPage

router = APIRouter(include_in_schema=False)


@router.get("/components/{component_id}/keys/new")
def key_new(page: VisitorPage, component_id: str) -> Response:
    component = editable_component(page, component_id)
    return page.render("key_new.html", {"component": component, "key_values": {}, "key_errors": {}})


def _expiry(text: str) -> datetime | None:
    """A date from the form: the key works through that whole day (UTC)."""
    if not text.strip():
        return None
    try:
        return parse_expiry(text)
    except ValueError as exc:
        raise ValidationFailed(
            "Invalid expiry date.", errors=[FieldError("/expiresAt", str(exc))]
        ) from None


@router.post("/components/{component_id}/keys")
def key_create(
    page: EditorFormPage, component_id: str, name: Field = "", expires: Field = ""
) -> Response:
    try:
        new = keys.create(
            page.session,
            page.settings.hmac_key,
            component_id,
            name=name,
            expires_at=_expiry(expires),
            actor=page.visitor.actor,
        )
    except ValidationFailed as exc:
        page.session.rollback()
        errors = field_errors(exc)
        extra = {
            "key_errors": {"name": errors.get("name"), "expires": errors.get("expiresAt")},
            "key_values": {"name": name, "expires": expires},
        }
        return component_page_at(page, component_id, "keys", extra, status_code=400)
    page.session.flush()
    # Shown once: this response is the only place the secret ever appears. (The address
    # bar goes back to the page: a reload must not re-send the form.)
    extra = {"new_key": {"secret": new.secret, "name": new.key.name}}
    return component_page_at(page, component_id, "keys", extra)


@router.post("/components/{component_id}/keys/{key_id}/suspend")
def key_suspend(session: SessionDep, v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.suspend(session, component_id, key_id, actor=v.actor)
    return see_other(f"/components/{component_id}?done=suspended#keys")


@router.post("/components/{component_id}/keys/{key_id}/resume")
def key_resume(session: SessionDep, v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.resume(session, component_id, key_id, actor=v.actor)
    return see_other(f"/components/{component_id}?done=resumed#keys")


@router.get("/components/{component_id}/keys/{key_id}/delete")
def key_delete_confirm(page: VisitorPage, component_id: str, key_id: int) -> Response:
    page.require(Role.EDITOR)
    key = KeyOut.of(keys.get(page.session, component_id, key_id))
    component = components.get(page.session, component_id)
    return page.render("confirm_delete.html", {"component": component, "key": key})


@router.post("/components/{component_id}/keys/{key_id}/delete")
def key_delete(session: SessionDep, v: EditorForm, component_id: str, key_id: int) -> Response:
    keys.delete(session, component_id, key_id, actor=v.actor)
    return see_other(f"/components/{component_id}?done=deleted#keys")
