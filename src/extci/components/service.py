"""Rules about components and their CI mode (management.md §1)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from extci.clock import utcnow
from extci.components import repository
from extci.components.models import Component
from extci.errors import Conflict, FieldError, NotFound, ValidationFailed
from extci.pagination import Page, decode_cursor, encode_cursor

KINDS = ("application-component", "library")
CI_MODES = ("platform", "external")
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


def validate_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 255 or "\x00" in name:
        raise ValidationFailed(
            "Invalid component name.", errors=[FieldError("/name", "must be 1-255 characters")]
        )
    return name


def validate_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed(
            f"Unknown component kind {kind!r}.",
            errors=[FieldError("/kind", "must be one of: " + ", ".join(KINDS))],
        )


def get(session: Session, component_id: str) -> Component:
    component = repository.get(session, component_id)
    if component is None:
        raise NotFound(f"Component {component_id!r} does not exist.")
    return component


def create(session: Session, component_id: str, name: str | None, kind: str) -> Component:
    validate_id(component_id)
    validate_kind(kind)
    display_name = validate_name(name) if name is not None else component_id
    if repository.get(session, component_id) is not None:
        raise Conflict(f"Component {component_id!r} already exists.")
    now = utcnow()
    component = Component(
        id=component_id,
        name=display_name,
        kind=kind,
        ci_mode="platform",
        created_at=now,
        updated_at=now,
    )
    repository.add(session, component)
    return component


def rename(session: Session, component_id: str, name: str) -> Component:
    component = get(session, component_id)
    component.name = validate_name(name)
    component.updated_at = utcnow()
    return component


def set_ci_mode(session: Session, component_id: str, mode: str) -> Component:
    if mode not in CI_MODES:
        raise ValidationFailed(
            f"Unknown CI mode {mode!r}.",
            errors=[FieldError("/mode", "must be 'external' or 'platform'")],
        )
    component = get(session, component_id)
    if component.ci_mode != mode:
        component.ci_mode = mode
        component.updated_at = utcnow()
    return component


def delete(session: Session, component_id: str) -> None:
    repository.delete(session, get(session, component_id))


def listing(
    session: Session,
    *,
    kind: str | None = None,
    ci_mode: str | None = None,
    query: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Component]:
    if kind is not None:
        validate_kind(kind)
    if ci_mode is not None and ci_mode not in CI_MODES:
        raise ValidationFailed(
            f"Unknown CI mode {ci_mode!r}.",
            errors=[FieldError("/ciMode", "must be 'external' or 'platform'")],
        )
    after = None
    if (values := decode_cursor(cursor, 2)) is not None:
        try:
            after = (datetime.fromisoformat(values[0]), str(values[1]))
        except (TypeError, ValueError):
            raise ValidationFailed("The cursor is not one this server issued.") from None
    rows = repository.listing(
        session, kind=kind, ci_mode=ci_mode, query=query, after=after, limit=limit + 1
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.created_at.isoformat(), last.id)
    return Page(rows, next_cursor)
