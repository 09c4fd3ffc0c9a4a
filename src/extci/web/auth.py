"""Who is looking at a page: the session cookie, CSRF on forms, roles, sign-in throttling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.models import User
from extci.accounts.roles import Role
from extci.audit.service import Actor
from extci.clientaddr import client_address
from extci.config import Settings
from extci.dependencies import SessionDep, SettingsDep
from extci.errors import Forbidden
from extci.schemas import Text
from extci.security import tokens_match

# The sign-in form's own CSRF token (double-submit cookie): stops a foreign site from
# signing a browser into an account of the attacker's choosing ("login CSRF").
SIGN_IN_COOKIE = "extci_sign_in"


class SignInRequired(Exception):
    """Raised by page dependencies when nobody is signed in; answered with a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True)
class Visitor:
    user: User
    csrf_token: str
    address: str

    @property
    def can_edit(self) -> bool:
        return accounts.role_at_least(self.user.role, Role.EDITOR)

    @property
    def is_admin(self) -> bool:
        return accounts.role_at_least(self.user.role, Role.ADMIN)

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this visitor's changes."""
        return Actor(self.user.username, self.address)


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def current_visitor(
    request: HTTPConnection, session: Session, settings: Settings
) -> Visitor | None:
    """Who the session cookie belongs to, or None when it names no live session. The one
    check of a web session: every page and the live updates stream (again and again while
    it is open) ask here, so whatever ends a session ends both."""
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = accounts.web_session_user(session, settings.hmac_key, cookie) if cookie else None
    if signed_in is None:
        return None
    return Visitor(signed_in.user, signed_in.csrf_token, client_address(request))


def visitor(request: Request, session: SessionDep, settings: SettingsDep) -> Visitor:
    found = current_visitor(request, session, settings)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


VisitorDep = Annotated[Visitor, Depends(visitor)]


def form_visitor(visitor: VisitorDep, csrf_token: Annotated[Text, Form()] = "") -> Visitor:
    """Every state-changing form carries the session's CSRF token."""
    if not tokens_match(csrf_token, visitor.csrf_token):
        raise Forbidden(
            "This form did not come from this site or has expired; reload the page and try again."
        )
    return visitor


FormVisitor = Annotated[Visitor, Depends(form_visitor)]


@dataclass(frozen=True)
class VisitorWithRole:
    """A dependency: the visitor, who must hold ``role`` or a higher one (403 otherwise)."""

    role: Role

    def __call__(self, visitor: VisitorDep) -> Visitor:
        accounts.require_role(visitor.user, self.role)
        return visitor


@dataclass(frozen=True)
class FormWithRole(VisitorWithRole):
    """The same for a form: its CSRF token is checked first."""

    def __call__(self, visitor: FormVisitor) -> Visitor:
        return super().__call__(visitor)


EditorForm = Annotated[Visitor, Depends(FormWithRole(Role.EDITOR))]
AdminVisitor = Annotated[Visitor, Depends(VisitorWithRole(Role.ADMIN))]
AdminForm = Annotated[Visitor, Depends(FormWithRole(Role.ADMIN))]
