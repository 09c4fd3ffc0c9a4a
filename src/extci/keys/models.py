from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from extci.components.models import ComponentOwned
from extci.constraints import one_of
from extci.db import Base, UTCDateTime


class KeyStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"  # derived at read time from expires_at, never stored


STORED_KEY_STATUSES = (KeyStatus.ACTIVE, KeyStatus.SUSPENDED)


class CIKey(ComponentOwned, Base):
    __tablename__ = "ci_keys"
    __table_args__ = (CheckConstraint(one_of("status", STORED_KEY_STATUSES), name="status"),)

    # HMAC-SHA256 of the key under the installation's secret; the plaintext is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=KeyStatus.ACTIVE)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def effective_status(self, now: datetime) -> str:
        return key_status(self.status, self.expires_at, now)


def key_status(status: str, expires_at: datetime | None, now: datetime) -> str:
    """ACTIVE, SUSPENDED, or EXPIRED once an active key is past its expiry."""
    if status == KeyStatus.ACTIVE and expires_at is not None and expires_at <= now:
        return KeyStatus.EXPIRED
    return status
