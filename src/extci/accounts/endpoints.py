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


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_tokens(session, user)]


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(session: SessionDep, token_id: int, user: CurrentUser) -> Response:
    service.delete_token(session, user, token_id)
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, _admin: Admin) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session)]


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(session: SessionDep, body: UserCreate, _admin: Admin) -> UserCreated:
    new = service.create_user(session, body.username, body.role, body.password)
    return UserCreated(**UserOut.model_validate(new.user).model_dump(), password=new.password)


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(session: SessionDep, username: str, body: UserPatch, _admin: Admin) -> UserOut:
    user = service.update_user(session, username, role=body.role, password=body.password)
    return UserOut.model_validate(user)
