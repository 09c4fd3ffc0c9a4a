from __future__ import annotations

from datetime import datetime

from extci.clock import utcnow
from extci.keys.models import CIKey
from extci.schemas import ApiModel, Name, UtcDatetime


class KeyCreate(ApiModel):
    name: Name
    expires_at: UtcDatetime | None = None


class KeyOut(ApiModel):
    id: int
    component_id: str
    name: str
    hint: str
    status: str
    expires_at: datetime | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: CIKey) -> KeyOut:
        """The key as stored, but EXPIRED once an active key is past its expiry."""
        out = cls.model_validate(key)
        out.status = key.effective_status(utcnow())
        return out


class KeyCreated(KeyOut):
    key: str  # the secret, shown this once
