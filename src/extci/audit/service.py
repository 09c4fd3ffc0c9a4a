"""Recording and reading the audit log.

Services call :func:`record` inside the unit of work that makes the change, so the entry
commits with the change or not at all. The edges say who acts: an :class:`Actor` built
from the signed-in user and the client address, or :meth:`Actor.cli` on the command line.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlalchemy.orm import Session

from extci.audit import repository
from extci.audit.models import AuditAction, AuditEntry
from extci.audit.repository import AuditFilter as AuditFilter  # edges use it
from extci.clock import utcnow
from extci.errors import FieldError, ValidationFailed
from extci.pagination import DEFAULT_LIMIT, Page, decode_id_cursor, encode_cursor, page_of
from extci.validation import search_text

SYSTEM = "system"  # the first start's own admin account


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from which client address (None on the command line)."""

    name: str
    address: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        return cls(f"cli:{getpass.getuser()}")

    @classmethod
    def system(cls) -> Actor:
        return cls(SYSTEM)


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    target: str,
    *,
    component_id: str | None = None,
    details: dict[str, str] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        created_at=utcnow(),
        actor=actor.name,
        address=actor.address,
        action=action.value,
        component_id=component_id,
        target=target,
        details=details or {},
    )
    repository.add(session, entry)
    return entry


def parse_action(value: str | None) -> AuditAction | None:
    if value is None:
        return None
    try:
        return AuditAction(value)
    except ValueError:
        raise ValidationFailed(
            f"Unknown audit action {value!r}.",
            errors=[FieldError("/action", "must be one of: " + ", ".join(AuditAction))],
        ) from None


def list_entries(
    session: Session, filters: AuditFilter, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[AuditEntry]:
    known = parse_action(filters.action)
    checked = AuditFilter(
        search_text(filters.component_id, "/component"),
        search_text(filters.actor, "/actor"),
        known.value if known else None,
    )
    rows = repository.entries(session, checked, after_id=decode_id_cursor(cursor), limit=limit + 1)
    return page_of(rows, limit, lambda e: encode_cursor(e.id))
