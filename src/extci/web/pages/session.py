"""Signing in and out.

``POST /sign-in`` opens its own units of work instead of ``SessionDep``: a POST's
``SessionDep`` takes SQLite's write lock up front, and the argon2 check (0.1-0.2 s) would
then hold it, queueing webhooks behind sign-in attempts. The password is checked in a
read-only unit of work; only the new session row is written, in a short one.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.throttle import SignInThrottle
from extci.clientaddr import client_address
from extci.config import Settings
from extci.db import unit_of_work
from extci.dependencies import RuntimeDep, SessionDep, SettingsDep
from extci.security import PasswordHashingBusy, tokens_match
from extci.web import render as r
from extci.web.auth import SIGN_IN_COOKIE, FormVisitor, VisitorDep, secure_cookies
from extci.web.pages.common import Field, local_path, see_other

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(_visitor: VisitorDep) -> Response:
    return see_other("/components")


def _sign_in_page(
    request: Request,
    settings: Settings,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = r.render(
        request,
        "sign_in.html",
        {
            "next": next_url,
            "username": username,
            "error": error,
            "csrf_token": token,
            "page_url": "/sign-in?" + urlencode({"next": next_url}) if error else None,
        },
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/sign-in",
    )
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = "/components"
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and accounts.web_session_user(session, settings.hmac_key, cookie) is not None:
        return see_other(local_path(next))
    return _sign_in_page(request, settings, next_url=local_path(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    runtime: RuntimeDep,
    username: Field = "",
    password: Field = "",
    csrf_token: Field = "",
    next: Field = "/components",
) -> Response:
    settings = runtime.settings
    next_url = local_path(next)
    throttle: SignInThrottle = request.app.state.runtime.sign_in_throttle
    address = client_address(request)
    if not tokens_match(csrf_token, request.cookies.get(SIGN_IN_COOKIE, "")):
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    attempt = throttle.begin(address, username)  # counted before any hash is computed
    if isinstance(attempt, int):
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error=f"Too many failed sign-in attempts. Try again in {attempt} seconds.",
            status_code=429,
            headers={"retry-after": str(attempt)},
        )
    try:
        with unit_of_work(runtime.sessions) as session:  # read-only: no write lock while hashing
            user = accounts.check_password(session, username, password)
    except PasswordHashingBusy as busy:
        throttle.abandoned(attempt)
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error=busy.detail,
            status_code=busy.status,
            headers=busy.headers,
        )
    if user is None:
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error="Wrong username or password.",
            status_code=401,
        )
    if not user.active:
        # Said only after the right password: a guesser learns nothing from it.
        return _sign_in_page(
            request,
            settings,
            next_url=next_url,
            username=username,
            error=accounts.DEACTIVATED,
            status_code=403,
        )
    throttle.succeeded(attempt)
    with unit_of_work(runtime.sessions, write=True) as session:
        new = accounts.start_web_session(session, settings.hmac_key, user)
    response = see_other(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=int(accounts.WEB_SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep, _visitor: FormVisitor
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_web_session(session, settings.hmac_key, cookie)
    response = see_other("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
