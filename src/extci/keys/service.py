"""CI keys: generation, lifecycle and authentication of webhook requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from extci import security
from extci.audit.models import AuditAction
from extci.audit.service import Actor, record
from extci.clock import utcnow
from extci.components import owned
from extci.components import repository as component_rows
from extci.keys import repository
from extci.keys.cache import KeyRecord
from extci.keys.models import CIKey, KeyStatus
from extci.validation import display_name, future_expiry

LAST_USED_RESOLUTION = timedelta(minutes=1)
# One body for every refused key, so a caller learns nothing about why.
INVALID_KEY = "Missing or invalid CI key (X-Codenow-Api-Key)."


@dataclass(frozen=True)
class NewKey:
    key: CIKey
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class AuthenticatedKey:
    id: int
    component_id: str


def create(
    session: Session,
    secret: bytes,
    component_id: str,
    *,
    name: str,
    expires_at: datetime | None,
    actor: Actor,
) -> NewKey:
    owned.external_component(session, component_id, before="generating a CI key")
    now = utcnow()
    plaintext = security.generate_token(security.CI_KEY_PREFIX)
    key = CIKey(
        component_id=component_id,
        name=display_name(name, "key"),
        key_hash=security.keyed_hash(secret, plaintext),
        hint=security.token_hint(plaintext, security.CI_KEY_PREFIX),
        status=KeyStatus.ACTIVE,
        expires_at=future_expiry(expires_at, now),
        created_at=now,
        created_by=actor.name,
    )
    component_rows.add(session, key)
    _record(session, actor, AuditAction.KEY_CREATED, key)
    return NewKey(key, plaintext)


def _record(session: Session, actor: Actor, action: AuditAction, key: CIKey) -> None:
    details = {"name": key.name, "hint": key.hint}
    record(session, actor, action, f"key {key.id}", component_id=key.component_id, details=details)


_KEYS = owned.Rows(CIKey, "CI key")
list_keys = _KEYS.page
get = _KEYS.get


def suspend(session: Session, component_id: str, key_id: int, *, actor: Actor) -> CIKey:
    return _set_status(
        session, component_id, key_id, KeyStatus.SUSPENDED, AuditAction.KEY_SUSPENDED, actor
    )


def resume(session: Session, component_id: str, key_id: int, *, actor: Actor) -> CIKey:
    return _set_status(
        session, component_id, key_id, KeyStatus.ACTIVE, AuditAction.KEY_RESUMED, actor
    )


def _set_status(
    session: Session,
    component_id: str,
    key_id: int,
    status: KeyStatus,
    action: AuditAction,
    actor: Actor,
) -> CIKey:
    """Suspend or resume a key; the audit log records it only when the status changes."""
    key = get(session, component_id, key_id)
    if key.status != status:
        key.status = status
        _record(session, actor, action, key)
    return key


def delete(session: Session, component_id: str, key_id: int, *, actor: Actor) -> None:
    key = get(session, component_id, key_id)
    _record(session, actor, AuditAction.KEY_DELETED, key)
    component_rows.delete(session, key)


def lookup(session: Session, key_hash: str) -> KeyRecord | None:
    """What the webhook's first check needs to know of a key, by its keyed hash."""
    key = repository.by_hash(session, key_hash)
    if key is None:
        return None
    return KeyRecord(key.id, key.component_id, key.status, key.expires_at)
