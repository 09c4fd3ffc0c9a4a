from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from extci.accounts import service
from extci.accounts.dependencies import ActorDep, Admin, CurrentUser
from extci.accounts.models import User
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
from extci.schemas import PageOut, Paging, PagingQuery

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(
    session: SessionDep,
    settings: SettingsDep,
    body: TokenCreate,
    user: CurrentUser,
    actor: ActorDep,
) -> TokenCreated:
    new = service.create_token(
        session, settings.hmac_key, user, name=body.name, expires_at=body.expires_at, actor=actor
    )
    return TokenCreated(**TokenOut.model_validate(new.token).model_dump(), token=new.secret)


@router.get("/tokens", response_model=PageOut[TokenOut])
def list_tokens(session: SessionDep, user: CurrentUser, paging: PagingQuery) -> PageOut[TokenOut]:
    return _token_page(session, user, paging)


def _token_page(session: Session, user: User, paging: Paging) -> PageOut[TokenOut]:
    page = service.list_tokens(session, user, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, TokenOut.model_validate)


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(
    session: SessionDep, token_id: int, user: CurrentUser, actor: ActorDep
) -> Response:
    service.delete_token(session, user, token_id, actor=actor)
    return Response(status_code=204)


@router.get("/users", response_model=PageOut[UserOut])
def list_users(session: SessionDep, _admin: Admin, paging: PagingQuery) -> PageOut[UserOut]:
    page = service.list_users(session, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, UserOut.model_validate)


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(
    session: SessionDep, body: UserCreate, _admin: Admin, actor: ActorDep
) -> UserCreated:
    new = service.create_user(session, body.username, body.role, body.password, actor=actor)
    return UserCreated(**UserOut.model_validate(new.user).model_dump(), password=new.password)


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(
    session: SessionDep, username: str, body: UserPatch, _admin: Admin, actor: ActorDep
) -> UserOut:
    user = service.update_user(
        session,
        username,
        actor=actor,
        role=body.role,
        password=body.password,
        active=body.active,
    )
    return UserOut.model_validate(user)


@router.get("/users/{username}/tokens", response_model=PageOut[TokenOut])
def list_user_tokens(
    session: SessionDep, username: str, _admin: Admin, paging: PagingQuery
) -> PageOut[TokenOut]:
    return _token_page(session, service.get_user(session, username), paging)


@router.delete("/users/{username}/tokens/{token_id}", status_code=204)
def delete_user_token(
    session: SessionDep, username: str, token_id: int, _admin: Admin, actor: ActorDep
) -> Response:
    service.delete_token(session, service.get_user(session, username), token_id, actor=actor)
    return Response(status_code=204)
