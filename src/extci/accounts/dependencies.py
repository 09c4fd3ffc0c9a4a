"""Who is calling: a personal access token (Bearer) or the UI's session cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from extci.accounts import service
from extci.accounts.models import User
from extci.db import unit_of_work
from extci.dependencies import RuntimeDep, SessionDep
from extci.errors import Forbidden, Unauthorized
from extci.security import tokens_match

SESSION_COOKIE = "extci_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_user(request: Request, session: SessionDep, runtime: RuntimeDep) -> User:
    secret = runtime.settings.secret
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized("Use 'Authorization: Bearer <personal access token>'.")
        holder = service.authenticate_token(session, secret, credentials.strip())
        if holder.stamp_due:
            if request.method in SAFE_METHODS:
                # A read-only request: upgrading its SQLite read transaction to a write can
                # fail outright, so the stamp gets a short write transaction of its own.
                with unit_of_work(runtime.sessions, write=True) as writer:
                    service.note_token_use(writer, holder.token_id)
            else:  # already a write transaction (holding SQLite's lock): stamp in it
                service.note_token_use(session, holder.token_id)
        return holder.user
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        signed_in = service.web_session_user(session, secret, cookie)
        if signed_in is not None:
            if request.method not in SAFE_METHODS and not tokens_match(
                request.headers.get(CSRF_HEADER, ""), signed_in.csrf_token
            ):
                raise Forbidden("Missing or wrong CSRF token (X-CSRF-Token header).")
            return signed_in.user
    raise Unauthorized(service.INVALID_TOKEN)


CurrentUser = Annotated[User, Depends(current_user)]


def role(needed: str) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        service.require_role(user, needed)
        return user

    return check


Viewer = Annotated[User, Depends(role("viewer"))]
Editor = Annotated[User, Depends(role("editor"))]
Admin = Annotated[User, Depends(role("admin"))]
