"""Who is looking at a page: the session cookie, CSRF on forms, roles, sign-in throttling."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request

from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.models import User
from extci.audit.service import Actor
from extci.clientaddr import client_address
from extci.config import Settings
from extci.dependencies import SessionDep, SettingsDep
from extci.errors import Forbidden
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
        return accounts.role_at_least(self.user.role, "editor")

    @property
    def is_admin(self) -> bool:
        return accounts.role_at_least(self.user.role, "admin")

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this visitor's changes."""
        return Actor(self.user.username, self.address)


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def visitor(request: Request, session: SessionDep, settings: SettingsDep) -> Visitor:
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = accounts.web_session_user(session, settings.secret, cookie) if cookie else None
    if signed_in is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return Visitor(signed_in.user, signed_in.csrf_token, client_address(request))


VisitorDep = Annotated[Visitor, Depends(visitor)]


def form_visitor(visitor: VisitorDep, csrf_token: Annotated[str, Form()] = "") -> Visitor:
    """Every state-changing form carries the session's CSRF token."""
    if not tokens_match(csrf_token, visitor.csrf_token):
        raise Forbidden(
            "This form did not come from this site or has expired; reload the page and try again."
        )
    return visitor


FormVisitor = Annotated[Visitor, Depends(form_visitor)]


def form_editor(visitor: FormVisitor) -> Visitor:
    accounts.require_role(visitor.user, "editor")
    return visitor


EditorForm = Annotated[Visitor, Depends(form_editor)]


def admin_visitor(visitor: VisitorDep) -> Visitor:
    accounts.require_role(visitor.user, "admin")
    return visitor


AdminVisitor = Annotated[Visitor, Depends(admin_visitor)]


def form_admin(visitor: FormVisitor) -> Visitor:
    accounts.require_role(visitor.user, "admin")
    return visitor


AdminForm = Annotated[Visitor, Depends(form_admin)]


class SignInThrottle:
    """Failed sign-ins per username and per client address in a sliding window.

    In process memory, like the webhook's rate limit: with several processes each one
    throttles what it sees, which still bounds a password-guessing rate per process.
    """

    def __init__(
        self, per_user: int = 5, per_address: int = 20, window_seconds: float = 300.0
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        stamps = [t for t in self._failures.get(key, []) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def retry_after(self, address: str, username: str) -> int | None:
        """Seconds to wait before another attempt, or None when one is allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in (
                ("u:" + username.lower(), self.per_user),
                ("a:" + address, self.per_address),
            ):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    waits.append(stamps[-limit] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window
                }
            for key in ("u:" + username.lower(), "a:" + address):
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop("u:" + username.lower(), None)
