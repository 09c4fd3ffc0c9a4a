from __future__ import annotations

from fastapi import APIRouter, Response

from extci.accounts import service
from extci.accounts.dependencies import Admin, CurrentUser
from extci.accounts.schemas import (
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserCreated,
    UserOut,
    UserPatch,
)
from extci.dependencies import SessionDep, SettingsDep
from extci.pagination import DEFAULT_LIMIT
from extci.schemas import CursorQuery, LimitQuery, PageOut

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(
    session: SessionDep, settings: SettingsDep, body: TokenCreate, user: CurrentUser
) -> TokenCreated:
    new = service.create_token(
        session, settings.secret, user, name=body.name, expires_at=body.expires_at
    )
    return TokenCreated(**TokenOut.model_validate(new.token).model_dump(), token=new.secret)


@router.get("/tokens", response_model=PageOut[TokenOut])
def list_tokens(
    session: SessionDep,
    user: CurrentUser,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> PageOut[TokenOut]:
    page = service.list_tokens(session, user, cursor=cursor, limit=limit)
    items = [TokenOut.model_validate(t) for t in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(session: SessionDep, token_id: int, user: CurrentUser) -> Response:
    service.delete_token(session, user, token_id)
    return Response(status_code=204)


@router.get("/users", response_model=PageOut[UserOut])
def list_users(
    session: SessionDep,
    _admin: Admin,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> PageOut[UserOut]:
    page = service.list_users(session, cursor=cursor, limit=limit)
    items = [UserOut.model_validate(u) for u in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(session: SessionDep, body: UserCreate, _admin: Admin) -> UserCreated:
    new = service.create_user(session, body.username, body.role, body.password)
    return UserCreated(**UserOut.model_validate(new.user).model_dump(), password=new.password)


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(session: SessionDep, username: str, body: UserPatch, _admin: Admin) -> UserOut:
    user = service.update_user(session, username, role=body.role, password=body.password)
    return UserOut.model_validate(user)
