"""An admin's pages: users (deactivate / activate, each confirmed), a user's tokens, and
the audit log. Every other role gets 403 here, and no link to them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter
from sqlalchemy.orm import Session

from extci.accounts import service as accounts
from extci.audit import service as audit
from extci.audit.models import AuditAction
from extci.dependencies import SessionDep
from extci.errors import ExtciError, NotFound
from extci.pagination import DEFAULT_LIMIT
from extci.web import render as r
from extci.web.auth import AdminForm, AdminVisitor, Visitor
from extci.web.pages.common import NOTICES, see_other

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    session: Session,
    visitor: Visitor,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    cursor = request.query_params.get("cursor") or None
    page = accounts.list_users(session, cursor=cursor, limit=DEFAULT_LIMIT)
    context: dict[str, Any] = {
        "visitor": visitor,
        "users": page.items,
        "next_url": f"/users?{urlencode({'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return r.render(request, "users.html", context, status_code=status_code)


@router.get("/users")
def users_list(request: Request, session: SessionDep, visitor: AdminVisitor) -> Response:
    return _users_page(request, session, visitor)


@router.get("/users/{username}")
def user_page(
    request: Request, session: SessionDep, visitor: AdminVisitor, username: str
) -> Response:
    user = accounts.get_user(session, username)
    cursor = request.query_params.get("cursor") or None
    page = accounts.list_tokens(session, user, cursor=cursor, limit=DEFAULT_LIMIT)
    next_url = None
    if page.next_cursor:
        next_url = f"/users/{user.username}?{urlencode({'cursor': page.next_cursor})}#tokens"
    context = {
        "visitor": visitor,
        "user": user,
        "tokens": page.items,
        "next_url": next_url,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return r.render(request, "user.html", context)


ACTIVATION = {"deactivate": False, "activate": True}


def _activation(verb: str) -> bool:
    if verb not in ACTIVATION:
        raise NotFound("No such page.")
    return ACTIVATION[verb]


@router.get("/users/{username}/{verb}")
def user_activation_confirm(
    request: Request, session: SessionDep, visitor: AdminVisitor, username: str, verb: str
) -> Response:
    """The confirmation as a page of its own, for browsers without JavaScript."""
    _activation(verb)
    user = accounts.get_user(session, username)
    return r.render(request, "confirm_user.html", {"visitor": visitor, "user": user})


@router.post("/users/{username}/{verb}")
def user_activation(
    request: Request, session: SessionDep, visitor: AdminForm, username: str, verb: str
) -> Response:
    active = _activation(verb)
    try:
        accounts.update_user(session, username, actor=visitor.actor, active=active)
    except ExtciError as exc:
        if exc.status != 409:
            raise
        session.rollback()  # the last active admin: say so on the list itself
        return _users_page(request, session, visitor, error=exc.detail, status_code=409)
    return see_other(f"/users?done=user-{verb}d")


@router.get("/users/{username}/tokens/{token_id}/delete")
def token_delete_confirm(
    request: Request, session: SessionDep, visitor: AdminVisitor, username: str, token_id: int
) -> Response:
    user = accounts.get_user(session, username)
    token = accounts.get_token(session, user, token_id)
    return r.render(
        request, "confirm_user.html", {"visitor": visitor, "user": user, "token": token}
    )


@router.post("/users/{username}/tokens/{token_id}/delete")
def token_delete(session: SessionDep, visitor: AdminForm, username: str, token_id: int) -> Response:
    user = accounts.get_user(session, username)
    accounts.delete_token(session, user, token_id, actor=visitor.actor)
    return see_other(f"/users/{user.username}?done=token-deleted#tokens")


@router.get("/audit")
def audit_log(request: Request, session: SessionDep, visitor: AdminVisitor) -> Response:
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("component", "actor", "action")}
    page = audit.list_entries(
        session,
        component_id=filters["component"] or None,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        cursor=q.get("cursor") or None,
        limit=DEFAULT_LIMIT,
    )
    active = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.next_cursor:
        next_url = "/audit?" + urlencode({**active, "cursor": page.next_cursor})
    context = {
        "visitor": visitor,
        "entries": page.items,
        "filters": filters,
        "filtered": bool(active) or bool(q.get("cursor")),
        "actions": list(AuditAction),
        "next_url": next_url,
    }
    return r.render(request, "audit.html", context)
