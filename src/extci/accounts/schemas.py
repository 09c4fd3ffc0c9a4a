from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StrictBool, StringConstraints

from extci.accounts.roles import Role
from extci.accounts.service import MIN_PASSWORD, USERNAME, UserChange
from extci.schemas import UNICODE_TEXT, ApiModel, Name, OneOf, UtcDatetime

RoleIn = Annotated[str, OneOf(Role)]
# As the server enforces them (accounts.service), so the OpenAPI document says so too.
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=USERNAME.pattern), UNICODE_TEXT
]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD), UNICODE_TEXT]


class UserOut(ApiModel):
    username: str
    role: str
    active: bool
    created_at: datetime


class UserCreate(ApiModel):
    username: Username
    role: RoleIn
    password: Password | None = None


class UserCreated(UserOut):
    password: str | None  # set only when the server generated it: shown this once


class UserPatch(ApiModel):
    role: RoleIn | None = None
    password: Password | None = None
    # false: tokens answer 401, sessions end, sign-in refused. Strict: 0 and "no" are no booleans.
    active: StrictBool | None = None

    def change(self) -> UserChange:
        return UserChange(self.role, self.password, self.active)


class TokenCreate(ApiModel):
    name: Name
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
