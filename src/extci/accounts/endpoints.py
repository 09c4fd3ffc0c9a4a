from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from extci.accounts import service
from extci.accounts.dependencies import AdminCall, CurrentUser, UserCall
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
from extci.schemas import PageOut, Paging, PagingQuery

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(call: UserCall, body: TokenCreate) -> TokenCreated:
    new = service.create_token(
        call.session,
        call.settings.hmac_key,
        call.user,
        name=body.name,
        expires_at=body.expires_at,
        actor=call.actor,
    )
    return TokenCreated(**TokenOut.model_validate(new.token).model_dump(), token=new.secret)


@router.get("/tokens", response_model=PageOut[TokenOut])
def list_tokens(call: UserCall, paging: PagingQuery) -> PageOut[TokenOut]:
    return _token_page(call.session, call.user, paging)


def _token_page(session: Session, user: User, paging: Paging) -> PageOut[TokenOut]:
    page = service.list_tokens(session, user, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, TokenOut.model_validate)


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(call: UserCall, token_id: int) -> Response:
    service.delete_token(call.session, call.user, token_id, actor=call.actor)
    return Response(status_code=204)


@router.get("/users", response_model=PageOut[UserOut])
def list_users(call: AdminCall, paging: PagingQuery) -> PageOut[UserOut]:
    page = service.list_users(call.session, cursor=paging.cursor, limit=paging.limit)
    return PageOut.of(page, UserOut.model_validate)


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(call: AdminCall, body: UserCreate) -> UserCreated:
    new = service.create_user(
        call.session, body.username, body.role, body.password, actor=call.actor
    )
    return UserCreated(**UserOut.model_validate(new.user).model_dump(), password=new.password)


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(call: AdminCall, username: str, body: UserPatch) -> UserOut:
    user = service.update_user(call.session, username, body.change(), actor=call.actor)
    return UserOut.model_validate(user)


@router.get("/users/{username}/tokens", response_model=PageOut[TokenOut])
def list_user_tokens(call: AdminCall, username: str, paging: PagingQuery) -> PageOut[TokenOut]:
    return _token_page(call.session, service.get_user(call.session, username), paging)


@router.delete("/users/{username}/tokens/{token_id}", status_code=204)
def delete_user_token(call: AdminCall, username: str, token_id: int) -> Response:
    owner = service.get_user(call.session, username)
    service.delete_token(call.session, owner, token_id, actor=call.actor)
    return Response(status_code=204)
