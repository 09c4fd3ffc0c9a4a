"""The role column of management.md §2, route by route; 401 without (valid) credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.helpers import items
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import problem

ROLES = ("viewer", "editor", "admin")
C = "/api/v1/components/orders-service"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {key_id} and {token_id} are filled in per test
    needs: str  # viewer | editor | admin | any
    ok: int
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/api/v1/components", "viewer", 200),
    Route("POST", "/api/v1/components", "editor", 201, {"id": "new-comp", "kind": "library"}),
    Route("GET", C, "viewer", 200),
    Route("PATCH", C, "editor", 200, {"name": "Renamed"}),
    Route("DELETE", C, "admin", 204),
    Route("PUT", f"{C}/ci-mode", "editor", 200, {"mode": "platform"}),
    Route("POST", f"{C}/ci-keys", "editor", 201, {"name": "another"}),
    Route("GET", f"{C}/ci-keys", "viewer", 200),
    Route("POST", f"{C}/ci-keys/{{key_id}}/suspend", "editor", 200),
    Route("POST", f"{C}/ci-keys/{{key_id}}/resume", "editor", 200),
    Route("DELETE", f"{C}/ci-keys/{{key_id}}", "editor", 204),
    Route("GET", f"{C}/builds", "viewer", 200),
    Route("GET", f"{C}/builds/folder%2Fp1", "viewer", 200),
    Route("GET", "/api/v1/me", "any", 200),
    Route("POST", "/api/v1/tokens", "any", 201, {"name": "more"}),
    Route("GET", "/api/v1/tokens", "any", 200),
    Route("DELETE", "/api/v1/tokens/{token_id}", "any", 204),
    Route("GET", "/api/v1/users", "admin", 200),
    Route(
        "POST",
        "/api/v1/users",
        "admin",
        201,
        {"username": "newbie", "role": "viewer", "password": "long enough password"},
    ),
    Route("PATCH", "/api/v1/users/someone", "admin", 200, {"role": "editor"}),
]


def allowed(role: str, needs: str) -> bool:
    return needs == "any" or ROLES.index(role) >= ROLES.index(needs)


def setup(api: Api) -> tuple[str, int]:
    """An external component with a CI key and one build, and a second user; returns
    (the CI key secret, its id)."""
    api.component("orders-service")
    key = api.key("orders-service")
    assert api.send(ev.start("folder/p1", "orders-service"), key).status_code == 200
    api.token("viewer", "someone")
    with api.runtime.sessions() as s:
        from extci.keys.models import CIKey

        key_id = s.query(CIKey).one().id
    return key, key_id


def call(api: Api, route: Route, headers: dict[str, str], **ids: int) -> Any:
    path = route.path.format(key_id=ids.get("key_id", 1), token_id=ids.get("token_id", 1))
    return api.client.request(route.method, path, json=route.body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_role_matrix(api: Api, route: Route, role: str) -> None:
    _, key_id = setup(api)
    headers = api.token(role, f"the-{role}")
    token_id = items(api.client.get("/api/v1/tokens", headers=headers))[0]["id"]
    r = call(api, route, headers, key_id=key_id, token_id=token_id)
    if allowed(role, route.needs):
        assert r.status_code == route.ok, r.text
    else:
        body = problem(r, 403)
        assert role in body["detail"] or route.needs in body["detail"]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_without_valid_credentials_is_401(api: Api, route: Route) -> None:
    key, key_id = setup(api)
    issued = api.token("admin")  # so that "no credentials" is not "no users"
    token_id = items(api.client.get("/api/v1/tokens", headers=issued))[0]["id"]
    ids = {"key_id": key_id, "token_id": token_id}
    problem(call(api, route, {}, **ids), 401)
    # a CI key never authorises the management API, active as it is
    problem(call(api, route, {"Authorization": f"Bearer {key}"}, **ids), 401)
    problem(call(api, route, {"Authorization": "Bearer extci_pat_nope"}, **ids), 401)
    # a CI key in its own header does not either
    problem(call(api, route, {"X-Codenow-Api-Key": key}, **ids), 401)
    # and nothing happened: the admin still sees the state as it was set up
    assert api.client.get(C, headers=issued).status_code == 200
    keys = items(api.client.get(f"{C}/ci-keys", headers=issued))
    assert [k["status"] for k in keys] == ["ACTIVE"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_need_no_credentials(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}
