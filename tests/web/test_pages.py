"""The pages over HTTP (no browser): sessions, CSRF, roles, throttling, safe rendering.
Runs on SQLite and on PostgreSQL through the shared ``api`` fixture."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx2 as httpx
import pytest
from sqlalchemy.orm import Session

from extci.accounts import service as accounts
from extci.accounts.models import User
from extci.db import unit_of_work
from extci.keys import service as keys
from extci.notify import Broadcaster, Change, publish
from tests.support import events as ev
from tests.support.api import Api

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_form(api: Api) -> str:
    page = api.client.get("/sign-in")
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


def sign_in(api: Api, username: str, password: str = PASSWORD) -> httpx.Response:
    token = sign_in_form(api)
    return api.client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def page_token(api: Api, path: str = "/components") -> str:
    match = CSRF.search(api.client.get(path).text)
    assert match
    return match.group(1)


def test_pages_ask_to_sign_in_first(api: Api) -> None:
    response = api.client.get("/components/orders?status=FAILED", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fcomponents%2Forders%3Fstatus%3DFAILED"


def test_session_cookie_is_httponly_and_samesite(api: Api) -> None:
    api.token("editor")
    response = sign_in(api, "editor")
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if "extci_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here
    assert api.client.get("/components").status_code == 200


def test_session_cookie_is_secure_over_https(api: Api) -> None:
    api.client.base_url = httpx.URL("https://testserver")
    api.token("editor")
    response = sign_in(api, "editor")
    cookie = next(c for c in response.headers.get_list("set-cookie") if "extci_session=" in c)
    assert "Secure" in cookie


def test_wrong_credentials_say_so_and_attempts_are_throttled(api: Api) -> None:
    api.token("editor")
    for _ in range(5):
        response = sign_in(api, "editor", "wrong password")
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    throttled = sign_in(api, "editor", "wrong password")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many failed sign-in attempts" in throttled.text
    # Even the right password waits: that is what makes guessing slow.
    assert sign_in(api, "editor").status_code == 429


def test_sign_in_needs_its_own_form(api: Api) -> None:
    api.token("editor")
    forged = api.client.post(
        "/sign-in",
        data={"username": "editor", "password": PASSWORD, "csrf_token": "made-up"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "extci_session" not in forged.headers.get("set-cookie", "")


def _writes(session: Session) -> bool:
    """Whether this session's transaction is a write unit of work (SQLite: BEGIN IMMEDIATE)."""
    return bool(session.connection().get_execution_options().get("extci_write"))


def test_sign_in_checks_the_password_without_the_write_lock(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes 0.1-0.2 s: holding the write lock meanwhile would queue webhooks."""
    api.token("editor")
    seen: dict[str, bool] = {}
    check, start = accounts.check_password, accounts.start_web_session

    def checking(session: Session, username: str, password: str) -> User | None:
        seen["check"] = _writes(session)
        return check(session, username, password)

    def starting(session: Session, secret: bytes, user: User) -> accounts.NewWebSession:
        seen["start"] = _writes(session)
        return start(session, secret, user)

    monkeypatch.setattr(accounts, "check_password", checking)
    monkeypatch.setattr(accounts, "start_web_session", starting)
    assert sign_in(api, "editor").status_code == 303
    assert seen == {"check": False, "start": True}
    assert api.client.get("/components").status_code == 200


def test_a_key_expiring_on_a_day_works_through_that_day(api: Api) -> None:
    api.component("orders")
    api.token("editor")
    sign_in(api, "editor")
    token = page_token(api)
    created = api.client.post(
        "/components/orders/keys",
        data={"name": "jenkins", "expires": "2999-01-31", "csrf_token": token},
    )
    assert created.status_code == 200
    with unit_of_work(api.runtime.sessions) as session:
        (key,) = keys.list_keys(session, "orders").items
        assert key.expires_at == datetime(2999, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_only_returns_to_this_site(api: Api, target: str) -> None:
    api.token("editor")
    token = sign_in_form(api)
    response = api.client.post(
        "/sign-in",
        data={"username": "editor", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/components"


def test_forms_without_the_csrf_token_are_refused(api: Api) -> None:
    api.token("editor")
    sign_in(api, "editor")
    response = api.client.post(
        "/components", data={"id": "orders", "kind": "library"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "did not come from this site" in response.text


def test_a_viewer_gets_a_403_page_for_every_edit(api: Api) -> None:
    api.component("orders")
    api.key("orders")
    api.token("viewer")
    sign_in(api, "viewer")
    token = page_token(api)
    page = api.client.get("/components/orders").text
    assert "Generate CI key" not in page
    assert "Switch back" not in page
    assert "Suspend" not in page
    for path, data in [
        ("/components", {"id": "x", "kind": "library"}),
        ("/components/orders/ci-mode", {"mode": "platform"}),
        ("/components/orders/keys", {"name": "k"}),
        ("/components/orders/keys/1/suspend", {}),
        ("/components/orders/keys/1/delete", {}),
    ]:
        response = api.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "editor role" in response.text
    for path in ("/components/orders/ci-mode", "/components/orders/keys/new"):
        assert api.client.get(path).status_code == 403


def test_create_form_shows_validation_inline(api: Api) -> None:
    api.token("editor")
    sign_in(api, "editor")
    token = page_token(api)
    bad = api.client.post(
        "/components", data={"id": "Bad Id", "kind": "library", "csrf_token": token}
    )
    assert bad.status_code == 400
    assert 'id="id-error"' in bad.text
    assert 'value="Bad Id"' in bad.text  # what was typed stays
    api.component("orders")
    taken = api.client.post(
        "/components", data={"id": "orders", "kind": "library", "csrf_token": token}
    )
    assert taken.status_code == 409
    assert "already exists" in taken.text


def test_pages_work_without_javascript(api: Api) -> None:
    """Every dialog has a page of its own; the key is shown in the response of the form."""
    api.component("orders", external=False)
    api.token("editor")
    sign_in(api, "editor")
    token = page_token(api)
    confirm = api.client.get("/components/orders/ci-mode")
    assert "Switch orders to External CI?" in confirm.text
    switched = api.client.post(
        "/components/orders/ci-mode",
        data={"mode": "external", "csrf_token": token},
        follow_redirects=False,
    )
    assert switched.headers["location"] == "/components/orders?done=external"
    assert 'name="name"' in api.client.get("/components/orders/keys/new").text
    created = api.client.post(
        "/components/orders/keys",
        data={"name": "jenkins", "expires": "2999-01-01", "csrf_token": token},
    )
    secret = re.search(r"extci_ci_[0-9A-Za-z]+", created.text)
    assert secret
    assert created.headers["cache-control"] == "no-store"
    assert api.send(ev.start("p-1", "orders"), secret.group(0)).status_code == 200
    assert secret.group(0) not in api.client.get("/components/orders").text
    past = api.client.post(
        "/components/orders/keys",
        data={"name": "old", "expires": "2001-01-01", "csrf_token": token},
    )
    assert past.status_code == 400
    assert "must be in the future" in past.text


def test_build_pages_render_safely(api: Api) -> None:
    api.component("orders")
    key = api.key("orders")
    pipeline = "folder/job<script>/7"
    start = ev.start(pipeline, "orders", pipelineName="<img src=x onerror=alert(1)>")
    assert api.send(start, key).status_code == 200
    api.token("viewer")
    sign_in(api, "viewer")
    history = api.client.get("/components/orders").text
    assert "<script>" not in history
    assert "/components/orders/builds/folder%2Fjob%3Cscript%3E%2F7" in history
    detail = api.client.get("/components/orders/builds/folder%2Fjob%3Cscript%3E%2F7")
    assert detail.status_code == 200
    assert "<img src=x" not in detail.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in detail.text
    assert "content-security-policy" in detail.headers
    fragment = api.client.get("/components/orders?fragment=1")
    assert fragment.text.lstrip().startswith("<table")


def test_unknown_pages_are_html_and_the_api_stays_json(api: Api) -> None:
    api.token("viewer")
    sign_in(api, "viewer")
    page = api.client.get("/components/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert api.client.get("/api/v1/components/nope").headers["content-type"] == (
        "application/problem+json"
    )
    # A signed-in person keeps the navigation and Sign out on an error page.
    assert 'aria-label="Main"' in page.text
    assert 'action="/sign-out"' in page.text
    refused = api.client.get("/users")
    assert refused.status_code == 403
    assert 'action="/sign-out"' in refused.text
    favicon = api.client.get("/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.headers["content-type"].startswith("image/svg+xml")


def test_a_missing_result_is_said_once(api: Api) -> None:
    api.component("orders")
    key = api.key("orders")
    assert api.send(ev.start("p-1", "orders"), key).status_code == 200
    partial = ev.result("p-1", ev.git_revision(), ev.artifact("container"))
    assert api.send(partial, key).status_code == 200
    assert api.send(ev.end("p-1"), key).status_code == 200
    api.token("viewer")
    sign_in(api, "viewer")
    page = api.client.get("/components/orders/builds/p-1").text
    helm = re.search(r"<li class=\"missing\">(.*?)</li>", page, re.S)
    assert helm
    assert re.sub(r"<[^>]+>", "", helm.group(1)).split() == ["✗", "helm", "missing"]
    assert 'aria-hidden="true">✗' in helm.group(1)


def test_a_wrong_password_keeps_the_fields_required_and_described(api: Api) -> None:
    api.token("editor")
    token = sign_in_form(api)
    wrong = api.client.post(
        "/sign-in", data={"username": "editor", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    for field in ("username", "password"):
        tag = re.search(rf'<input id="{field}"[^>]*>', wrong.text)
        assert tag
        assert " required " in tag.group(0) or " required>" in tag.group(0)
        assert ' aria-describedby="sign-in-error"' in tag.group(0)


def test_sign_out_ends_the_session(api: Api) -> None:
    api.token("viewer")
    sign_in(api, "viewer")
    token = page_token(api)
    out = api.client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.headers["location"] == "/sign-in"
    api.client.cookies.clear()
    assert api.client.get("/components", follow_redirects=False).status_code == 303


def test_in_process_fan_out_reaches_only_that_component() -> None:
    async def scenario() -> list[Change | None]:
        broadcaster = Broadcaster("sqlite:///unused.db")
        state = type("State", (), {"broadcaster": broadcaster})()
        with broadcaster.subscription("orders") as mine, broadcaster.subscription("other"):
            publish(state, "orders", "p-1", "BUILDING")
            publish(state, "orders", "p-1", "SUCCESSFUL")
            got = [mine.queue.get_nowait(), mine.queue.get_nowait()]
            assert mine.queue.empty()
        await broadcaster.aclose()
        return got

    # A thread of its own: Playwright's sync API may own this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        got = pool.submit(lambda: asyncio.run(scenario())).result()
    assert [c.status for c in got if c] == ["BUILDING", "SUCCESSFUL"]


def test_publish_without_a_ui_or_when_failing_never_raises() -> None:
    publish(object(), "orders", "p-1", "BUILDING")

    class Broken:
        def publish(self, change: Change) -> None:
            raise RuntimeError("boom")

    state = type("State", (), {"broadcaster": Broken()})()
    publish(state, "orders", "p-1", "BUILDING")


def test_only_http_links_become_anchors() -> None:
    from extci.web.render import link

    assert str(link("javascript:alert(1)", "x")) == "<span>x</span>"
    assert 'href="https://ci.example.org/a?b=1&amp;c=2"' in str(
        link("https://ci.example.org/a?b=1&c=2", "run")
    )
