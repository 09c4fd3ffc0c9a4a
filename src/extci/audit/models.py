from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extci.db import Base, UTCDateTime


class AuditAction(StrEnum):
    """Every action the audit log knows; nothing else is ever recorded."""

    COMPONENT_CI_MODE_CHANGED = "component.ci-mode-changed"
    COMPONENT_DELETED = "component.deleted"
    KEY_CREATED = "key.created"
    KEY_SUSPENDED = "key.suspended"
    KEY_RESUMED = "key.resumed"
    KEY_DELETED = "key.deleted"
    TRUST_POLICY_CREATED = "trust-policy.created"
    TRUST_POLICY_DELETED = "trust-policy.deleted"
    USER_CREATED = "user.created"
    USER_ROLE_CHANGED = "user.role-changed"
    USER_PASSWORD_CHANGED = "user.password-changed"  # noqa: S105 - an action name
    USER_DEACTIVATED = "user.deactivated"
    USER_ACTIVATED = "user.activated"
    TOKEN_CREATED = "token.created"  # noqa: S105 - an action name
    TOKEN_DELETED = "token.deleted"  # noqa: S105 - an action name
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_REDELIVERED = "webhook.redelivered"


class AuditEntry(Base):
    """Plain text, no foreign keys: an entry outlives the component, key or token it names."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_component_id_id", "component_id", "id"),
        Index("ix_audit_entries_actor_id", "actor", "id"),
        Index("ix_audit_entries_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # a username, or cli:<OS user> for the command line, or "system" (first start)
    actor: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(64))  # None on the command line
    action: Mapped[str] = mapped_column(String(64))
    component_id: Mapped[str | None] = mapped_column(String(63))
    target: Mapped[str] = mapped_column(String(255))  # e.g. "key 3", "bob", "token 7"
    details: Mapped[dict[str, str]] = mapped_column(JSON)
