"""Who is looking at a page: the session cookie, CSRF on forms, roles, sign-in throttling."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.models import User
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

    @property
    def can_edit(self) -> bool:
        return accounts.role_at_least(self.user.role, "editor")


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def current_visitor(
    request: HTTPConnection, session: Session, settings: Settings
) -> Visitor | None:
    """Who the session cookie belongs to, or None when it names no live session. The one
    check of a web session: every page and the live updates stream (again and again while
    it is open) ask here, so whatever ends a session ends both."""
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = accounts.web_session_user(session, settings.secret, cookie) if cookie else None
    if signed_in is None:
        return None
    return Visitor(signed_in.user, signed_in.csrf_token)


def visitor(request: Request, session: SessionDep, settings: SettingsDep) -> Visitor:
    found = current_visitor(request, session, settings)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


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


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt admitted by the throttle and already counted as a failure."""

    keys: tuple[str, str]  # (client address, username), client address
    at: float


class SignInThrottle:
    """Failed sign-ins per (client address, username) and per client address, in a sliding
    window. Never per username alone: then anyone could lock any user out.

    An attempt is checked and counted in one step under a lock, before its password is
    hashed, so simultaneous attempts cannot all slip in before the first failure is
    recorded; a success then takes its count back and forgives that pair's failures.

    In process memory, like the webhook's rate limit on SQLite (one server process): with
    several processes each one throttles what it sees (see docs/decisions.md).
    """

    MAX_TRACKED = 10_000  # keys kept before expired ones are swept

    def __init__(self, per_user: int, per_address: int, window_seconds: float) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        return cls(
            settings.sign_in_failures_per_user,
            settings.sign_in_failures_per_address,
            settings.sign_in_window.total_seconds(),
        )

    def _recent(self, key: str, now: float) -> list[float]:
        stamps = [t for t in self._failures.get(key, []) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def begin(self, address: str, username: str) -> Attempt | int:
        """Admit and count an attempt, or return the seconds to wait before the next one."""
        keys = (f"p:{address}\0{username.casefold()}", f"a:{address}")
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > self.MAX_TRACKED:
                self._failures = {
                    k: v for k, v in self._failures.items() if v and now - v[-1] < self.window
                }
            waits = []
            for key, limit in zip(keys, (self.per_user, self.per_address), strict=True):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    waits.append(stamps[-limit] + self.window - now)
            if waits:
                return max(1, math.ceil(max(waits)))
            for key in keys:
                self._failures.setdefault(key, []).append(now)
        return Attempt(keys, now)

    def _uncount(self, attempt: Attempt, keys: tuple[str, ...]) -> None:
        for key in keys:
            stamps = self._failures.get(key, [])
            if attempt.at in stamps:
                stamps.remove(attempt.at)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this pair starts afresh, the address keeps other failures."""
        pair, address = attempt.keys
        with self._lock:
            self._failures.pop(pair, None)
            self._uncount(attempt, (address,))

    def abandoned(self, attempt: Attempt) -> None:
        """The password was never checked (the server was busy): the attempt does not count."""
        with self._lock:
            self._uncount(attempt, attempt.keys)
