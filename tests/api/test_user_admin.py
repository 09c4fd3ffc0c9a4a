"""An admin cuts a user off and manages anyone's tokens; usernames ignore case
(issue 8, findings 6 and 13). Real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from extci.accounts import service as accounts
from extci.accounts.models import User
from extci.db import unit_of_work
from tests.api.helpers import items
from tests.api.test_accounts import bearer, sessions_of, web_session
from tests.support.api import Api
from tests.support.factories import TESTS
from tests.support.problems import problem


def new_token(api: Api, username: str) -> str:
    with unit_of_work(api.runtime.sessions, write=True) as s:
        user = accounts.get_user(s, username)
        new = accounts.create_token(s, api.secret, user, name="again", expires_at=None, actor=TESTS)
        return new.secret


def test_a_deactivated_users_tokens_and_sessions_stop_and_activation_restores_the_tokens(
    api: Api,
) -> None:
    root = api.token("admin", "root")
    bob = api.token("editor", "bob")
    browser = web_session(api, "bob")
    assert api.client.get("/api/v1/me", headers=bob).status_code == 200
    assert api.client.get("/api/v1/me", headers=browser).status_code == 200

    r = api.client.patch("/api/v1/users/bob", json={"active": False}, headers=root)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert r.json()["role"] == "editor"  # nothing else changed

    body = problem(api.client.get("/api/v1/me", headers=bob), 401)
    assert "deactivated" in body["detail"]
    # a state-changing call is refused as well, and changes nothing
    problem(api.client.post("/api/v1/tokens", json={"name": "sneaky"}, headers=bob), 401)
    problem(api.client.get("/api/v1/me", headers=browser), 401)
    assert sessions_of(api, "bob") == 0
    listed = {
        u["username"]: u["active"] for u in items(api.client.get("/api/v1/users", headers=root))
    }
    assert listed == {"root": True, "bob": False}

    r = api.client.patch("/api/v1/users/bob", json={"active": True}, headers=root)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True
    assert api.client.get("/api/v1/me", headers=bob).json()["username"] == "bob"
    names = [t["name"] for t in items(api.client.get("/api/v1/tokens", headers=bob))]
    assert names == ["test"]  # the refused "sneaky" was never created
    # the ended browser session stays ended
    problem(api.client.get("/api/v1/me", headers=browser), 401)


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(api: Api) -> None:
    root = api.token("admin", "root")
    body = problem(
        api.client.patch("/api/v1/users/root", json={"active": False}, headers=root), 409
    )
    assert "last active admin" in body["detail"]

    # a deactivated second admin does not count
    api.token("admin", "ada")
    r = api.client.patch("/api/v1/users/ada", json={"active": False}, headers=root)
    assert r.status_code == 200, r.text
    for change in ({"active": False}, {"role": "viewer"}, {"role": "editor", "active": True}):
        problem(api.client.patch("/api/v1/users/root", json=change, headers=root), 409)
    with unit_of_work(api.runtime.sessions) as s:
        state = {u.username: (u.role, u.active) for u in s.query(User)}
    assert state == {"root": ("admin", True), "ada": ("admin", False)}

    # once ada is active again, root may step down, and then ada is the last one
    assert api.client.patch("/api/v1/users/ada", json={"active": True}, headers=root).is_success
    r = api.client.patch("/api/v1/users/root", json={"active": False}, headers=root)
    assert r.status_code == 200, r.text
    problem(api.client.get("/api/v1/me", headers=root), 401)  # root cut itself off
    ada = bearer(new_token(api, "ada"))
    problem(api.client.patch("/api/v1/users/ada", json={"active": False}, headers=ada), 409)
    problem(api.client.patch("/api/v1/users/ada", json={"role": "viewer"}, headers=ada), 409)


def test_an_admin_lists_and_deletes_any_users_tokens(api: Api) -> None:
    root = api.token("admin", "root")
    bob = api.token("viewer", "bob")
    api.token("viewer", "carol")
    for name in ("laptop", "ci"):
        assert api.client.post("/api/v1/tokens", json={"name": name}, headers=bob).is_success
    bobs_secret = bob["Authorization"].removeprefix("Bearer ")

    r = api.client.get("/api/v1/users/bob/tokens", params={"limit": 2}, headers=root)
    first = r.json()
    assert [t["name"] for t in first["items"]] == ["ci", "laptop"]  # newest first
    assert first["nextCursor"]
    rest = items(
        api.client.get(
            "/api/v1/users/bob/tokens", params={"cursor": first["nextCursor"]}, headers=root
        )
    )
    assert [t["name"] for t in rest] == ["test"]
    assert bobs_secret not in r.text  # only hints, never a secret
    test_id = rest[0]["id"]

    # the id must be bob's: through carol's path it is not found, and nothing is deleted
    problem(api.client.delete(f"/api/v1/users/carol/tokens/{test_id}", headers=root), 404)
    assert api.client.get("/api/v1/me", headers=bob).status_code == 200

    r = api.client.delete(f"/api/v1/users/bob/tokens/{test_id}", headers=root)
    assert r.status_code == 204, r.text
    problem(api.client.get("/api/v1/me", headers=bob), 401)
    body = problem(api.client.delete(f"/api/v1/users/bob/tokens/{test_id}", headers=root), 404)
    assert "bob" in body["detail"]
    problem(api.client.get("/api/v1/users/nobody/tokens", headers=root), 404)
    problem(api.client.delete("/api/v1/users/nobody/tokens/1", headers=root), 404)


def test_only_an_admin_manages_other_users_tokens(api: Api) -> None:
    api.token("admin", "root")
    victim = api.token("viewer", "bob")
    victim_id = items(api.client.get("/api/v1/tokens", headers=victim))[0]["id"]
    for role in ("viewer", "editor"):
        h = api.token(role, f"the-{role}")
        problem(api.client.get("/api/v1/users/bob/tokens", headers=h), 403)
        problem(api.client.delete(f"/api/v1/users/bob/tokens/{victim_id}", headers=h), 403)
        problem(api.client.patch("/api/v1/users/bob", json={"active": False}, headers=h), 403)
    for method, path in (
        ("GET", "/api/v1/users/bob/tokens"),
        ("DELETE", f"/api/v1/users/bob/tokens/{victim_id}"),
    ):
        problem(api.client.request(method, path), 401)
    assert api.client.get("/api/v1/me", headers=victim).json()["username"] == "bob"


def test_usernames_are_unique_ignoring_case(api: Api) -> None:
    root = api.token("admin", "Root")
    for name in ("root", "ROOT", "rOoT"):
        body = problem(
            api.client.post(
                "/api/v1/users", json={"username": name, "role": "viewer"}, headers=root
            ),
            409,
        )
        assert "ignoring case" in body["detail"]
        assert "'Root'" in body["detail"]  # names the existing spelling
    # the name is kept as typed, and found whatever the case of the path
    assert api.client.get("/api/v1/me", headers=root).json()["username"] == "Root"
    api.token("viewer", "Dora")
    r = api.client.patch("/api/v1/users/DORA", json={"role": "editor"}, headers=root)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "Dora"
    assert r.json()["role"] == "editor"
    assert items(api.client.get("/api/v1/users/dora/tokens", headers=root))
    # only ASCII names anybody: Python lowers the Kelvin sign (U+212A) to "k"
    api.token("viewer", "karl")
    assert items(api.client.get("/api/v1/users/KARL/tokens", headers=root))
    problem(api.client.get("/api/v1/users/\u212aarl/tokens", headers=root), 404)
    users = sorted(u["username"] for u in items(api.client.get("/api/v1/users", headers=root)))
    assert users == ["Dora", "Root", "karl"]
