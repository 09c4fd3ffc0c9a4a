from __future__ import annotations

from datetime import datetime
from typing import Literal

from extci.schemas import ApiModel, UtcDatetime

Role = Literal["viewer", "editor", "admin"]


class UserOut(ApiModel):
    username: str
    role: str
    active: bool
    created_at: datetime


class UserCreate(ApiModel):
    username: str
    role: Role
    password: str | None = None


class UserCreated(UserOut):
    password: str | None  # set only when the server generated it: shown this once


class UserPatch(ApiModel):
    role: Role | None = None
    password: str | None = None
    active: bool | None = None  # false: tokens answer 401, sessions end, sign-in refused


class TokenCreate(ApiModel):
    name: str
    expires_at: UtcDatetime | None = None


class TokenOut(ApiModel):
    id: int
    name: str
    hint: str
    expires_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str  # the secret, shown this once
