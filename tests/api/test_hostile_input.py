"""Never a 500 (nor a 503) for client input: whatever a client sends to the management API,
the answer is a 4xx problem+json, on SQLite and on PostgreSQL alike. A value the database
cannot hold (NUL on PostgreSQL, an integer past 2**63-1, a date past year 9999 in UTC) is
the client's mistake, not a server fault nor a transient one."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import pointers, problem

C = "/api/v1/components/orders-service"
FAR_FUTURE = "9999-12-31T23:59:59-01:00"  # year 10000 in UTC


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: Any = None  # JSON, or bytes sent as they are
    # The answers that are right. NUL in a path can never name a row: 404 (SQLite looks and
    # finds nothing) or 400 (PostgreSQL refuses the value).
    statuses: tuple[int, ...] = (400,)
    at: str | None = None  # the field an errors[].pointer must name
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


NUL_IN_PATH = (400, 404)

CASES = [
    # ---- NUL characters --------------------------------------------------------------
    Case("q-nul", "GET", "/api/v1/components", params={"q": "\x00"}, at="q"),
    Case("q-with-nul", "GET", "/api/v1/components", params={"q": "ord\x00ers"}, at="q"),
    Case("component-id-nul", "GET", "/api/v1/components/a%00b", statuses=NUL_IN_PATH),
    Case("builds-of-component-nul", "GET", "/api/v1/components/a%00b/builds", statuses=NUL_IN_PATH),
    Case("keys-of-component-nul", "GET", "/api/v1/components/a%00b/ci-keys", statuses=NUL_IN_PATH),
    Case("branch-nul", "GET", f"{C}/builds", params={"branch": "\x00"}, at="branch"),
    Case("version-nul", "GET", f"{C}/builds", params={"version": "1.0\x00"}, at="version"),
    Case("status-nul", "GET", f"{C}/builds", params={"status": "\x00"}, at="status"),
    Case("kind-nul", "GET", "/api/v1/components", params={"kind": "\x00"}, at="kind"),
    Case("ci-mode-nul", "GET", "/api/v1/components", params={"ciMode": "\x00"}, at="ciMode"),
    Case("pipeline-id-nul", "GET", f"{C}/builds/a%00b", statuses=NUL_IN_PATH),
    Case("user-nul", "PATCH", "/api/v1/users/a%00", {"role": "viewer"}, statuses=NUL_IN_PATH),
    Case("token-name-nul", "POST", "/api/v1/tokens", {"name": "a\x00b"}, at="name"),
    Case("key-name-nul", "POST", f"{C}/ci-keys", {"name": "a\x00b"}, at="name"),
    Case("component-name-nul", "PATCH", C, {"name": "a\x00b"}, at="name"),
    Case(
        "component-id-nul-on-create",
        "POST",
        "/api/v1/components",
        {"id": "a\x00", "kind": "library"},
        at="id",
    ),
    Case(
        "username-nul",
        "POST",
        "/api/v1/users",
        {"username": "a\x00", "role": "viewer"},
        at="username",
    ),
    # ---- lone UTF-16 surrogates: JSON's "\\ud800" escape is no character ----------------
    Case("token-name-surrogate", "POST", "/api/v1/tokens", rb'{"name":"\ud800"}', at="name"),
    Case(
        "component-name-surrogate",
        "POST",
        "/api/v1/components",
        rb'{"id":"other","name":"a\udfffb","kind":"library"}',
        at="name",
    ),
    Case(
        "component-id-surrogate",
        "POST",
        "/api/v1/components",
        rb'{"id":"\ud800","kind":"library"}',
        at="id",
    ),
    Case("component-rename-surrogate", "PATCH", C, rb'{"name":"\ud800"}', at="name"),
    Case("key-name-surrogate", "POST", f"{C}/ci-keys", rb'{"name":"\udc00"}', at="name"),
    Case(
        "user-password-surrogate",
        "POST",
        "/api/v1/users",
        rb'{"username":"eve","role":"viewer","password":"long enough \ud800"}',
        at="password",
    ),
    Case(
        "username-surrogate",
        "POST",
        "/api/v1/users",
        rb'{"username":"\ud800","role":"viewer"}',
        at="username",
    ),
    Case(
        "user-new-password-surrogate",
        "PATCH",
        "/api/v1/users/root",
        rb'{"password":"long enough \ud800"}',
        at="password",
    ),
    Case("unknown-field-surrogate", "POST", "/api/v1/tokens", rb'{"name":"t","\ud800":1}'),
    # ---- a boolean is true or false, not 0 or "no" (Schemathesis found 0 taken as false) ---
    Case("active-zero", "PATCH", "/api/v1/users/root", {"active": 0}, at="active"),
    Case("active-text", "PATCH", "/api/v1/users/root", {"active": "no"}, at="active"),
    # ---- dates that exist with their offset but not in UTC ----------------------------
    Case(
        "key-expiry-past-9999",
        "POST",
        f"{C}/ci-keys",
        {"name": "k", "expiresAt": FAR_FUTURE},
        at="expiresAt",
    ),
    Case(
        "token-expiry-past-9999",
        "POST",
        "/api/v1/tokens",
        {"name": "k", "expiresAt": FAR_FUTURE},
        at="expiresAt",
    ),
    Case(
        "key-expiry-naive",
        "POST",
        f"{C}/ci-keys",
        {"name": "k", "expiresAt": "2099-01-01T00:00:00"},
        at="expiresAt",
    ),
    # ---- integers beyond what the databases hold --------------------------------------
    Case("key-id-huge", "POST", f"{C}/ci-keys/{10**30}/suspend", statuses=(400, 404)),
    Case("key-id-2-63", "DELETE", f"{C}/ci-keys/{2**63}", statuses=(400, 404)),
    Case("token-id-huge", "DELETE", f"/api/v1/tokens/{10**30}", statuses=(400, 404)),
    # beyond PostgreSQL's INTEGER ids, within SQLite's
    Case("key-id-2-40", "POST", f"{C}/ci-keys/{2**40}/resume", statuses=(400, 404)),
    Case("token-id-2-40", "DELETE", f"/api/v1/tokens/{2**40}", statuses=(400, 404)),
    Case("key-id-text", "DELETE", f"{C}/ci-keys/abc", at="key_id"),
    # ---- hand-made cursors ------------------------------------------------------------
    *[
        Case(f"cursor-{what}-{name}", "GET", path, params={"cursor": value}, at="cursor")
        for what, path in (
            ("builds", f"{C}/builds"),
            ("keys", f"{C}/ci-keys"),
            ("tokens", "/api/v1/tokens"),
            ("users", "/api/v1/users"),
        )
        for name, value in (
            ("huge", cursor([10**30])),
            ("2-63", cursor([2**63])),
            ("negative", cursor([-1])),
            ("text", cursor(["x"])),
            ("float", cursor([1.5])),
            ("garbage", "!!not base64!!"),
            ("not-json", base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")),
            ("deeply-nested", base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")),
        )
    ],
    *[
        Case(
            f"cursor-components-{name}",
            "GET",
            "/api/v1/components",
            params={"cursor": value},
            at="cursor",
        )
        for name, value in (
            ("naive-datetime", cursor(["2026-01-01T00:00:00", "a"])),
            ("past-9999-in-utc", cursor([FAR_FUTURE, "a"])),
            ("not-a-date", cursor(["yesterday", "a"])),
            ("huge", cursor([10**30, "a"])),
            ("nul-id", cursor(["2026-01-01T00:00:00+00:00", "a\x00"])),
            ("id-not-text", cursor(["2026-01-01T00:00:00+00:00", 7])),
            ("one-value", cursor([1])),
            ("garbage", "!!not base64!!"),
            ("lone-surrogate", cursor(["2026-01-01T00:00:00+00:00", "\ud800"])),
        )
    ],
    # ---- limits -----------------------------------------------------------------------
    *[
        Case(f"limit-{value or 'empty'}-{what}", "GET", path, params={"limit": value}, at="limit")
        for what, path in (
            ("components", "/api/v1/components"),
            ("builds", f"{C}/builds"),
            ("keys", f"{C}/ci-keys"),
            ("tokens", "/api/v1/tokens"),
            ("users", "/api/v1/users"),
        )
        for value in ("0", "201", "abc", str(10**30))
    ],
    # ---- bodies -----------------------------------------------------------------------
    Case("body-not-json", "POST", "/api/v1/components", b"{not json"),
    Case("body-array", "POST", "/api/v1/components", [{"id": "x", "kind": "library"}]),
    Case("body-string", "POST", "/api/v1/tokens", "laptop"),
    Case("body-not-json-token", "POST", "/api/v1/tokens", b"\xff\xfe"),
    Case("body-array-key", "POST", f"{C}/ci-keys", []),
    Case("body-array-user", "PATCH", "/api/v1/users/root", [{"role": "viewer"}]),
    Case("ci-mode-not-text", "PUT", f"{C}/ci-mode", {"mode": 7}, at="mode"),
    Case("name-not-text", "POST", "/api/v1/tokens", {"name": ["a"]}, at="name"),
]


def seed(api: Api) -> dict[str, str]:
    """An admin, an external component with a key and one build: something to hit."""
    api.component("orders-service")
    key = api.key("orders-service")
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    return api.token("admin", "root")


def send(api: Api, case: Case, headers: dict[str, str]) -> Any:
    if isinstance(case.body, bytes):
        return api.client.request(
            case.method,
            case.path,
            params=case.params,
            content=case.body,
            headers={**headers, "Content-Type": "application/json"},
        )
    if case.body is None:
        return api.client.request(case.method, case.path, params=case.params, headers=headers)
    return api.client.request(
        case.method, case.path, params=case.params, json=case.body, headers=headers
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_client_input_is_a_4xx_problem(api: Api, case: Case) -> None:
    headers = seed(api)
    r = send(api, case, headers)
    assert r.status_code in case.statuses, (r.status_code, r.text)
    body = problem(r, r.status_code)
    if case.at is not None:
        named = [p.rsplit("/", 1)[-1] for p in pointers(body)]
        assert case.at in named, body
    # the request left nothing broken behind it: the next one is answered normally
    after = api.client.get("/api/v1/components", headers=headers)
    assert after.status_code == 200, after.text
    assert [c["id"] for c in after.json()["items"]] == ["orders-service"]
