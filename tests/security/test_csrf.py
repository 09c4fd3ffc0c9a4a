"""CSRF: every state-changing request made with a session cookie — each JSON API route and
each web form of the route table — with no token, a wrong one, another session's of the
same user, another user's, and the right one. Only the right one changes anything.

Bearer tokens need no CSRF token (a browser never attaches them by itself): the
authorisation matrix calls the API with tokens alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from tests.support.access_rules import PUBLIC, RULES, WEBHOOK
from tests.support.routes import RouteKey, declared_routes, fill_path
from tests.support.snapshot import changed_tables
from tests.support.world import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    WebSession,
    World,
)

SIGN_IN_COOKIE = "extci_sign_in"
CASES = ("none", "wrong", "another-session", "another-user", "right")


def _guarded(route: RouteKey) -> bool:
    rule = RULES.get(route)
    return (
        rule is not None
        and not route.safe
        and route.face in ("api", "web")
        and rule.level not in (PUBLIC, WEBHOOK)
    )


# Routes without a rule fail in test_authz_matrix; here only the ones that have one.
GUARDED = [r for r in declared_routes() if _guarded(r)]


@dataclass(frozen=True)
class Attempt:
    session: WebSession  # the cookie sent
    token: str | None  # the CSRF token sent with it


def attempt(world: World, case: str, session: WebSession) -> Attempt:
    """The admin's session (every role check passes: only CSRF can refuse) with a token."""
    tokens = {
        "none": None,
        "wrong": secrets.token_urlsafe(32),
        "another-session": world.web_session("admin").csrf,
        "another-user": world.principals["editor"].session.csrf,  # type: ignore[union-attr]
        "right": session.csrf,
    }
    return Attempt(session, tokens[case])


def _send(world: World, route: RouteKey, case: str) -> tuple[httpx.Response, bool]:
    """Make the route's call as the admin with this case's token; returns the answer and
    whether anything stored changed."""
    admin = world.principals["admin"]
    rule = RULES[route]
    call = rule.prepare(world, admin, rule.variants[0])
    session = call.session or admin.session
    assert session is not None
    sent = attempt(world, case, session)
    headers = {"Cookie": f"{SESSION_COOKIE}={sent.session.cookie}"}
    form = call.form
    if route.face == "api" and sent.token is not None:
        headers[CSRF_HEADER] = sent.token
    if route.face == "web":
        form = dict(form or {})
        if sent.token is not None:
            form["csrf_token"] = sent.token
    before = world.snapshot()
    url = fill_path(route.path, call.params)
    response = world.request(route.method, url, headers=headers, json=call.json, form=form)
    return response, bool(changed_tables(before, world.snapshot()))


def test_there_are_forms_and_api_writes_to_guard() -> None:
    faces = {r.face for r in GUARDED}
    assert faces == {"api", "web"}, GUARDED


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_session_writes_need_the_sessions_own_csrf_token(
    world: World, route: RouteKey, case: str
) -> None:
    response, changed = _send(world, route, case)
    if case == "right":
        assert response.status_code in RULES[route].ok, response.text[:300]
        assert changed, f"{route} answered {response.status_code} and changed nothing"
        return
    assert response.status_code == 403, response.text[:300]
    assert not changed, f"{route} with {case} CSRF token changed something"
    if route.face == "api":
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "CSRF" in response.json()["detail"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "did not come from this site" in response.text


# ---- the sign-in form: its own token, bound to a cookie of its own ---------------------


def _sign_in_form(world: World) -> tuple[str, str]:
    """What a browser gets from GET /sign-in: (its sign-in cookie, the form's token)."""
    world.client.cookies.clear()
    page = world.client.get("/sign-in")
    cookie = page.cookies.get(SIGN_IN_COOKIE)
    match = CSRF_FIELD.search(page.text)
    world.client.cookies.clear()
    assert cookie, page.headers
    assert match, page.text
    return cookie, match.group(1)


@pytest.mark.parametrize("case", ["none", "wrong", "another-browser", "right"])
def test_sign_in_needs_the_forms_own_token(world: World, case: str) -> None:
    cookie, token = _sign_in_form(world)
    sent = {
        "none": None,
        "wrong": secrets.token_urlsafe(32),
        "another-browser": _sign_in_form(world)[1],
        "right": token,
    }[case]
    form = {"username": "viewer", "password": "correct horse battery"}
    if sent is not None:
        form["csrf_token"] = sent
    before = world.snapshot()
    response = world.request(
        "POST", "/sign-in", headers={"Cookie": f"{SIGN_IN_COOKIE}={cookie}"}, form=form
    )
    changes = changed_tables(before, world.snapshot())
    set_cookie = response.headers.get("set-cookie", "")
    if case == "right":
        assert response.status_code == 303, response.text[:300]
        assert f"{SESSION_COOKIE}=" in set_cookie
        assert any(c.startswith("web_sessions") for c in changes), changes
        return
    assert response.status_code == 403, response.text[:300]
    assert "The sign-in form expired" in response.text
    assert f"{SESSION_COOKIE}=" not in set_cookie
    assert not changes, changes
