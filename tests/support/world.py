"""One installation and everyone who knocks on it: the principals of the authorisation
matrix and the CSRF tests, created once per database, and fresh targets made on demand.

The principals:

- ``anonymous``: no credentials at all;
- ``ci_key``: an active CI key of component ``alpha``; ``other_key``: one of ``beta``. Both
  are presented every way a client might try (``X-Codenow-Api-Key`` and as a Bearer token);
- ``viewer``, ``editor``, ``admin``: a personal access token (JSON API, webhook) and a web
  session signed in through the real sign-in form (web UI);
- ``deactivated``: an admin with a token and a session who was then deactivated through
  ``PATCH /api/v1/users/{username}`` ``{"active": false}``. Where that API does not exist
  yet the principal is unavailable and its tests skip, saying why.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx
from fastapi.testclient import TestClient

from extci.accounts import repository as accounts_repository
from extci.accounts import service as accounts
from extci.db import unit_of_work
from extci.runtime import Runtime
from tests.support import events as ev
from tests.support import factories
from tests.support.routes import RouteKey, fill_path
from tests.support.snapshot import Snapshots, TableState

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "extci_session"
CSRF_HEADER = "X-CSRF-Token"

USER_ROLES = ("viewer", "editor", "admin")
PRINCIPALS = ("anonymous", "ci_key", "other_key", "viewer", "editor", "admin", "deactivated")

DEACTIVATION_PENDING = (
    "no deactivated user yet: PATCH /api/v1/users/{username} {'active': false} is not "
    "supported on this branch (users.active is the accounts work of issue 8); this "
    "principal runs once it lands"
)


@dataclass(frozen=True)
class WebSession:
    cookie: str
    csrf: str


@dataclass
class Principal:
    name: str
    role: str | None = None  # a live user's role; None for the others (and the deactivated)
    username: str | None = None
    token: str | None = None
    session: WebSession | None = None
    ci_key: str | None = None
    unavailable: str | None = None  # why its tests skip

    def headers(self, face: str, session: WebSession | None = None) -> dict[str, str]:
        """What this principal sends: on the web UI its session cookie, elsewhere its
        token; a CI key goes in both headers a client might put it in."""
        if self.ci_key:
            return {"X-Codenow-Api-Key": self.ci_key, "Authorization": f"Bearer {self.ci_key}"}
        if face == "web":
            session = session or self.session
            return {"Cookie": f"{SESSION_COOKIE}={session.cookie}"} if session else {}
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Call:
    """One request a rule makes for a principal: path values, a JSON body or a form."""

    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    form: dict[str, str] | None = None
    query: dict[str, str] | None = None  # for routes addressed by query string
    session: WebSession | None = None  # a session of its own (sign-out ends the one it uses)
    expect: dict[str, frozenset[int | str]] = field(default_factory=dict)


@dataclass
class World:
    client: TestClient
    runtime: Runtime
    principals: dict[str, Principal] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)
    webhook_ids: dict[str, int] = field(default_factory=dict)
    snapshots: Snapshots | None = None
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _tokens: dict[str, str] = field(default_factory=dict)  # a bearer token of each user
    _setup_key: str = ""

    # ---- fresh things to act on ------------------------------------------------------

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._counter)}"

    def component(self, *, external: bool = True) -> str:
        component_id = self.unique("comp")
        factories.make_component(self.runtime.sessions, component_id, external=external)
        return component_id

    def key(self, component_id: str = "alpha", *, suspended: bool = False) -> tuple[int, str]:
        key_id, secret = factories.make_key(
            self.runtime.sessions,
            self.runtime.settings.hmac_key,
            component_id,
            name=self.unique("k"),
        )
        if suspended:
            path = f"/api/v1/components/{component_id}/ci-keys/{key_id}/suspend"
            self._admin_call("POST", path)
        return key_id, secret

    def subscription(self, component_id: str = "alpha") -> int:
        """A webhook subscription to the component's build starts (its target is never
        reached: the sender refuses the private address it names)."""
        subscription_id, _secret = factories.make_webhook(
            self.runtime.sessions,
            self.runtime.settings.hmac_key,
            component_id,
            url=f"http://10.255.0.1/{self.unique('hook')}",
            events=("build.started",),
        )
        return subscription_id

    def user(self, role: str = "viewer") -> str:
        username = self.unique(f"user-{role}")
        self.make_user(username, role)
        return username

    def make_user(self, username: str, role: str) -> str:
        """A user (password ``factories.PASSWORD``) with a token, which is returned."""
        token = factories.make_user(
            self.runtime.sessions, self.runtime.settings.hmac_key, username, role
        )
        self._tokens[username] = token
        return token

    def token(self, username: str) -> int:
        """Another token of this user, made with the JSON API (tokens are one's own)."""
        made = self.request(
            "POST",
            "/api/v1/tokens",
            headers={"Authorization": f"Bearer {self._tokens[username]}"},
            json={"name": self.unique("t")},
        )
        assert made.status_code == 201, made.text
        token_id: int = made.json()["id"]
        return token_id

    def _admin_call(self, method: str, path: str) -> None:
        admin = self.principals["admin"]
        done = self.request(method, path, headers=admin.headers("api"))
        assert done.status_code < 300, done.text

    def web_session(self, username: str) -> WebSession:
        """A second browser of the same user (through the service: no password hashing)."""
        with unit_of_work(self.runtime.sessions, write=True) as session:
            user = accounts_repository.user_by_name(session, username)
            assert user is not None
            new = accounts.start_web_session(session, self.runtime.settings.hmac_key, user)
        return WebSession(new.cookie, new.csrf_token)

    def open_build(self, component_id: str = "alpha") -> str:
        """A BUILDING build, started over the webhook with a key kept for setting up."""
        if not self._setup_key:
            self._setup_key = self.key(component_id)[1]
        pipeline_id = self.unique("pipe")
        response = self.webhook(ev.start(pipeline_id, component_id), self._setup_key)
        assert response.status_code == 200, response.text
        return pipeline_id

    # ---- requests --------------------------------------------------------------------

    def webhook(self, event: dict[str, Any], key: str) -> httpx.Response:
        self.client.cookies.clear()
        headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
        return self.client.post("/ci/webhook", json=event, headers=headers)

    def sign_in(self, username: str, password: str = factories.PASSWORD) -> WebSession:
        """Sign in through the real form, as a browser does; returns the cookie and the
        CSRF token the pages carry."""
        self.client.cookies.clear()
        form = self.client.get("/sign-in")
        match = CSRF_FIELD.search(form.text)
        assert form.status_code == 200, form.text
        assert match, form.text
        signed_in = self.client.post(
            "/sign-in",
            data={"username": username, "password": password, "csrf_token": match.group(1)},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        cookie = self.client.cookies.get(SESSION_COOKIE)
        assert cookie
        page = self.client.get("/components")
        match = CSRF_FIELD.search(page.text)
        assert match, page.text
        self.client.cookies.clear()
        return WebSession(cookie, match.group(1))

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        form: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request with exactly these credentials (the cookie jar is emptied first).
        A streamed answer (server-sent events) is read up to its headers and closed."""
        self.client.cookies.clear()
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if json is not None:
            kwargs["json"] = json
        if form is not None:
            kwargs["data"] = form
        with self.client.stream(method, url, **kwargs) as response:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                response.read()
        self.client.cookies.clear()
        return response

    def send(self, route: RouteKey, principal: Principal, call: Call) -> httpx.Response:
        """The route called as this principal: its credentials, and on a web form the
        CSRF token of the session it uses (a genuine form submission)."""
        session = call.session or principal.session
        headers = principal.headers(route.face, call.session)
        if route.face == "webhook":
            headers.update(ev.HEADERS)
        form = call.form
        if form is not None and route.face == "web" and session is not None:
            form = {**form, "csrf_token": session.csrf}
        url = fill_path(route.path, call.params)
        if call.query:
            url += "?" + urlencode(call.query)
        return self.request(route.method, url, headers=headers, json=call.json, form=form)

    def snapshot(self) -> dict[str, TableState]:
        if self.snapshots is None:
            self.snapshots = Snapshots(self.runtime.engine)
        return self.snapshots.take()


def populate(world: World) -> World:
    """Two external components with a key each and one build, the users and their
    sessions, and the deactivated admin (when the API can deactivate)."""
    secret = world.runtime.settings.hmac_key
    sessions = world.runtime.sessions
    for component_id in ("alpha", "beta"):
        factories.make_component(sessions, component_id)
    alpha_key_id, alpha_key = factories.make_key(sessions, secret, "alpha", name="ci")
    _beta_key_id, beta_key = factories.make_key(sessions, secret, "beta", name="ci")
    world.key_ids["alpha"] = alpha_key_id
    started = world.webhook(ev.start("folder/p1", "alpha"), alpha_key)
    assert started.status_code == 200, started.text

    p = world.principals
    p["anonymous"] = Principal("anonymous")
    p["ci_key"] = Principal("ci_key", ci_key=alpha_key)
    p["other_key"] = Principal("other_key", ci_key=beta_key)
    for role in USER_ROLES:
        p[role] = Principal(role, role=role, username=role, token=world.make_user(role, role))
        p[role].session = world.sign_in(role)
    world.make_user("bystander", "viewer")
    p["deactivated"] = _deactivated(world)
    return world


def _deactivated(world: World) -> Principal:
    principal = Principal("deactivated", username="gone", token=world.make_user("gone", "admin"))
    principal.session = world.sign_in("gone")
    admin = world.principals["admin"]
    answer = world.request(
        "PATCH",
        "/api/v1/users/gone",
        headers=admin.headers("api"),
        json={"active": False},
    )
    ignored = answer.status_code == 200 and "active" not in answer.json()
    if answer.status_code == 400 or ignored:
        principal.unavailable = DEACTIVATION_PENDING  # the API has no "active" (yet)
        return principal
    assert answer.status_code == 200, answer.text  # it has: deactivating must work
    assert answer.json()["active"] is False, answer.text
    return principal
