"""An admin's pages: users (deactivate / activate, each confirmed), a user's tokens, and
the audit log. Every other role gets 403 here, and no link to them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.accounts import service as accounts
from extci.audit import service as audit
from extci.audit.models import AuditAction
from extci.audit.service import AuditFilter
from extci.dependencies import SessionDep
from extci.errors import ExtciError, NotFound
from extci.pagination import DEFAULT_LIMIT
from extci.web.auth import AdminForm
from extci.web.pages.common import NOTICES, see_other
from extci.web.pages.context import AdminFormPage, AdminPage, Page

router = APIRouter(include_in_schema=False)


def _users_page(page: Page, *, error: str | None = None, status_code: int = 200) -> Response:
    listing = accounts.list_users(page.session, cursor=page.cursor, limit=DEFAULT_LIMIT)
    context: dict[str, Any] = {
        "users": listing.items,
        "next_url": f"/users?{urlencode({'cursor': listing.next_cursor})}"
        if listing.next_cursor
        else None,
        "notice": NOTICES.get(page.done),
        "error": error,
    }
    return page.render("users.html", context, status_code=status_code)


@router.get("/users")
def users_list(page: AdminPage) -> Response:
    return _users_page(page)


@router.get("/users/{username}")
def user_page(page: AdminPage, username: str) -> Response:
    user = accounts.get_user(page.session, username)
    tokens = accounts.list_tokens(page.session, user, cursor=page.cursor, limit=DEFAULT_LIMIT)
    next_url = None
    if tokens.next_cursor:
        next_url = f"/users/{user.username}?{urlencode({'cursor': tokens.next_cursor})}#tokens"
    context = {
        "user": user,
        "tokens": tokens.items,
        "next_url": next_url,
        "notice": NOTICES.get(page.done),
    }
    return page.render("user.html", context)


ACTIVATION = {"deactivate": False, "activate": True}


def _activation(verb: str) -> bool:
    if verb not in ACTIVATION:
        raise NotFound("No such page.")
    return ACTIVATION[verb]


@router.get("/users/{username}/{verb}")
def user_activation_confirm(page: AdminPage, username: str, verb: str) -> Response:
    """The confirmation as a page of its own, for browsers without JavaScript."""
    _activation(verb)
    user = accounts.get_user(page.session, username)
    return page.render("confirm_user.html", {"user": user})


@router.post("/users/{username}/{verb}")
def user_activation(page: AdminFormPage, username: str, verb: str) -> Response:
    active = _activation(verb)
    try:
        change = accounts.UserChange(active=active)
        accounts.update_user(page.session, username, change, actor=page.visitor.actor)
    except ExtciError as exc:
        if exc.status != 409:
            raise
        page.session.rollback()  # the last active admin: say so on the list itself
        return _users_page(page, error=exc.detail, status_code=409)
    return see_other(f"/users?done=user-{verb}d")


@router.get("/users/{username}/tokens/{token_id}/delete")
def token_delete_confirm(page: AdminPage, username: str, token_id: int) -> Response:
    user = accounts.get_user(page.session, username)
    token = accounts.get_token(page.session, user, token_id)
    return page.render("confirm_user.html", {"user": user, "token": token})


@router.post("/users/{username}/tokens/{token_id}/delete")
def token_delete(session: SessionDep, visitor: AdminForm, username: str, token_id: int) -> Response:
    user = accounts.get_user(session, username)
    accounts.delete_token(session, user, token_id, actor=visitor.actor)
    return see_other(f"/users/{user.username}?done=token-deleted#tokens")


@router.get("/audit")
def audit_log(page: AdminPage) -> Response:
    filters = page.filters("component", "actor", "action")
    given = {name: value or None for name, value in filters.items()}
    wanted = AuditFilter(
        component_id=given["component"], actor=given["actor"], action=given["action"]
    )
    entries = audit.list_entries(page.session, wanted, cursor=page.cursor, limit=DEFAULT_LIMIT)
    active = {k: v for k, v in filters.items() if v}
    next_url = None
    if entries.next_cursor:
        next_url = "/audit?" + urlencode({**active, "cursor": entries.next_cursor})
    context = {
        "entries": entries.items,
        "filters": filters,
        "filtered": bool(active) or bool(page.cursor),
        "actions": list(AuditAction),
        "next_url": next_url,
    }
    return page.render("audit.html", context)
