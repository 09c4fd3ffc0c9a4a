"""Rules about components and their CI mode (management.md §1)."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy.orm import Session

from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.components import repository
from extci.components.kinds import CiMode, ComponentKind
from extci.components.models import Component
from extci.components.repository import ComponentFilter as ComponentFilter  # edges use it
from extci.errors import Conflict, FieldError, NotFound, ValidationFailed
from extci.pagination import Page, decode_time_id_cursor, encode_cursor, page_of
from extci.validation import display_name, search_text

ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ID_RULE = (
    "must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
)


def validate_id(component_id: str) -> None:
    if not ID_PATTERN.fullmatch(component_id):
        raise ValidationFailed(
            f"Invalid component id {component_id!r}.",
            errors=[FieldError("/id", ID_RULE)],
        )


def validate_kind(kind: str) -> None:
    if kind not in list(ComponentKind):
        raise ValidationFailed(
            f"Unknown component kind {kind!r}.",
            errors=[FieldError("/kind", "must be one of: " + ", ".join(ComponentKind))],
        )


def validate_ci_mode(mode: str, pointer: str) -> None:
    if mode not in list(CiMode):
        raise ValidationFailed(
            f"Unknown CI mode {mode!r}.",
            errors=[FieldError(pointer, "must be " + " or ".join(f"'{m}'" for m in CiMode))],
        )


def get(session: Session, component_id: str) -> Component:
    component = repository.get(session, component_id)
    if component is None:
        raise NotFound(f"Component {component_id!r} does not exist.")
    return component


def create(session: Session, component_id: str, name: str | None, kind: str) -> Component:
    validate_id(component_id)
    validate_kind(kind)
    shown_name = display_name(name, "component") if name is not None else component_id
    if repository.get(session, component_id) is not None:
        raise Conflict(f"Component {component_id!r} already exists.")
    now = utcnow()
    component = Component(
        id=component_id,
        name=shown_name,
        kind=kind,
        ci_mode=CiMode.PLATFORM,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, component)
    return component


def rename(session: Session, component_id: str, name: str) -> Component:
    component = get(session, component_id)
    component.name = display_name(name, "component")
    component.updated_at = utcnow()
    return component


def set_ci_mode(session: Session, component_id: str, mode: str, *, actor: Actor) -> Component:
    validate_ci_mode(mode, "/mode")
    component = get(session, component_id)
    if component.ci_mode != mode:
        record(
            session,
            actor,
            AuditAction.COMPONENT_CI_MODE_CHANGED,
            component_id,
            component_id=component_id,
            details={"from": component.ci_mode, "to": mode},
        )
        component.ci_mode = mode
        component.updated_at = utcnow()
    return component


def delete(session: Session, component_id: str, *, actor: Actor) -> None:
    component = get(session, component_id)
    # Its keys go with it (cascade); the entry says so, as those keys get none of their own.
    record(session, actor, AuditAction.COMPONENT_DELETED, component_id, component_id=component_id)
    repository.delete(session, component)


def list_components(
    session: Session, filters: ComponentFilter, *, cursor: str | None = None, limit: int = 50
) -> Page[Component]:
    if filters.kind is not None:
        validate_kind(filters.kind)
    if filters.ci_mode is not None:
        validate_ci_mode(filters.ci_mode, "/ciMode")
    filters = replace(filters, query=search_text(filters.query, "/q"))
    after = decode_time_id_cursor(cursor)
    rows = repository.components(session, filters, after=after, limit=limit + 1)
    return page_of(rows, limit, lambda c: encode_cursor(c.created_at.isoformat(), c.id))
