"""Who is calling: a personal access token (Bearer) or the UI's session cookie; and what a
JSON API handler works with, as one dependency (:class:`Call`).

No ``from __future__ import annotations`` here: FastAPI reads the annotations of
:func:`call_for`'s dependency at run time, and they name its argument.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session

from extci.accounts import service
from extci.accounts.models import User
from extci.accounts.roles import Role
from extci.audit.service import Actor
from extci.clientaddr import client_address
from extci.config import Settings
from extci.db import unit_of_work
from extci.dependencies import RuntimeDep, SessionDep, SettingsDep
from extci.errors import Forbidden, Unauthorized
from extci.runtime import Runtime
from extci.security import tokens_match

log = logging.getLogger("extci.accounts")

SESSION_COOKIE = "extci_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _stamp_token(runtime: Runtime, token_id: int) -> None:
    """After the response: record a token's use. Best effort, never the request's problem."""
    try:
        with unit_of_work(runtime.sessions, write=True) as session:
            service.note_token_use(session, token_id)
    except Exception:
        log.warning("could not record the use of token %s", token_id, exc_info=True)


def current_user(
    request: Request, session: SessionDep, runtime: RuntimeDep, background: BackgroundTasks
) -> User:
    secret = runtime.settings.hmac_key
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized("Use 'Authorization: Bearer <personal access token>'.")
        holder = service.authenticate_token(session, secret, credentials.strip())
        if holder.stamp_due:
            # Off the request: its own short write after the response has been sent, so a
            # read never turns into a write or waits for a second pooled connection.
            background.add_task(_stamp_token, runtime, holder.token_id)
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


def request_actor(request: Request, user: CurrentUser) -> Actor:
    """Who the audit log names for this request's changes: the user, from this address."""
    return Actor(user.username, client_address(request))


ActorDep = Annotated[Actor, Depends(request_actor)]

Viewer = Annotated[User, Depends(role(Role.VIEWER))]
Editor = Annotated[User, Depends(role(Role.EDITOR))]
Admin = Annotated[User, Depends(role(Role.ADMIN))]


@dataclass(frozen=True, eq=False)  # one per request: compared and hashed by identity
class Call:
    """What a JSON API handler works with: the request's unit of work, the settings, the
    user calling and how the audit log names them (the web pages' ``Page`` says the same
    for a page)."""

    session: Session
    settings: Settings
    user: User
    actor: Actor


def call_for(who: Callable[..., User]) -> Callable[..., Call]:
    """The :class:`Call` dependency for the user that the dependency ``who`` answers (signed
    in; with a role)."""

    def call(
        session: SessionDep,
        settings: SettingsDep,
        user: Annotated[User, Depends(who)],
        actor: ActorDep,
    ) -> Call:
        return Call(session, settings, user, actor)

    return call


UserCall = Annotated[Call, Depends(call_for(current_user))]
ViewerCall = Annotated[Call, Depends(call_for(role(Role.VIEWER)))]
EditorCall = Annotated[Call, Depends(call_for(role(Role.EDITOR)))]
AdminCall = Annotated[Call, Depends(call_for(role(Role.ADMIN)))]
