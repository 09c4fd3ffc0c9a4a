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
        return cls(
            id=key.id,
            component_id=key.component_id,
            name=key.name,
            hint=key.hint,
            status=key.effective_status(utcnow()),
            expires_at=key.expires_at,
            created_at=key.created_at,
            created_by=key.created_by,
            last_used_at=key.last_used_at,
        )


class KeyCreated(KeyOut):
    key: str  # the secret, shown this once
