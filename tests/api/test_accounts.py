"""Current user, personal access tokens, users and roles; health probes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extci import security
from extci.accounts import service as accounts
from extci.accounts.dependencies import SESSION_COOKIE
from extci.accounts.models import PersonalAccessToken, User, WebSession
from extci.db import unit_of_work
from tests.api.helpers import PAT, items
from tests.support import factories
from tests.support.api import Api
from tests.support.problems import pointers, problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_me_is_the_token_owner(api: Api) -> None:
    r = api.client.get("/api/v1/me", headers=api.token("editor", "erin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["username"] == "erin"
    assert body["role"] == "editor"
    assert "passwordHash" not in body
    assert "password" not in body


def test_token_create_list_use_delete(api: Api) -> None:
    h = api.token("viewer", "vera")
    r = api.client.post("/api/v1/tokens", json={"name": "laptop"}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert PAT.fullmatch(token), token
    assert security.token_is_well_formed(token, security.PAT_PREFIX)
    assert created["name"] == "laptop"
    assert created["expiresAt"] is None

    assert api.client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "vera"
    listed = items(api.client.get("/api/v1/tokens", headers=h))
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t for t in listed)
    assert token not in api.client.get("/api/v1/tokens", headers=h).text
    mine = next(t for t in listed if t["name"] == "laptop")
    assert mine["id"] == created["id"]
    assert mine["hint"].endswith(token[-4:])

    r = api.client.delete(f"/api/v1/tokens/{created['id']}", headers=h)
    assert r.status_code == 204
    problem(api.client.get("/api/v1/me", headers=bearer(token)), 401)
    assert [t["name"] for t in items(api.client.get("/api/v1/tokens", headers=h))] == ["test"]
    problem(api.client.delete(f"/api/v1/tokens/{created['id']}", headers=h), 404)


def test_tokens_are_per_user(api: Api) -> None:
    alice, bob = api.token("admin", "alice"), api.token("viewer", "bob")
    bobs = api.client.post("/api/v1/tokens", json={"name": "bob-ci"}, headers=bob).json()
    alice_list = items(api.client.get("/api/v1/tokens", headers=alice))
    assert "bob-ci" not in {t["name"] for t in alice_list}
    # not even an admin deletes another user's token through /tokens
    problem(api.client.delete(f"/api/v1/tokens/{bobs['id']}", headers=alice), 404)
    assert api.client.get("/api/v1/me", headers=bearer(bobs["token"])).json()["username"] == "bob"
    assert "bob-ci" in {t["name"] for t in items(api.client.get("/api/v1/tokens", headers=bob))}


def test_token_with_expiry_then_expired_is_401(api: Api) -> None:
    h = api.token("viewer")
    expires = datetime.now(UTC) + timedelta(days=1)
    r = api.client.post(
        "/api/v1/tokens", json={"name": "short", "expiresAt": expires.isoformat()}, headers=h
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert datetime.fromisoformat(r.json()["expiresAt"]) == expires
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with api.runtime.sessions() as s:
        row = s.get(PersonalAccessToken, r.json()["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    problem(api.client.get("/api/v1/me", headers=bearer(token)), 401)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = problem(
        api.client.post("/api/v1/tokens", json={"name": "x", "expiresAt": past}, headers=h), 400
    )
    assert "/expiresAt" in pointers(body)


def test_bad_credentials_are_401(api: Api) -> None:
    api.token("viewer")
    good = security.generate_token(security.PAT_PREFIX)  # well formed, never issued
    broken = good[:-1] + ("A" if good[-1] != "A" else "B")  # checksum fails
    for headers in (
        {},
        bearer(good),
        bearer(broken),
        bearer("nonsense"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ):
        problem(api.client.get("/api/v1/me", headers=headers), 401)


def test_admin_manages_users(api: Api) -> None:
    admin = api.token("admin", "root")
    r = api.client.post(
        "/api/v1/users",
        json={"username": "dora", "role": "viewer", "password": "long enough password"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "dora"
    assert r.json()["role"] == "viewer"
    assert r.json().get("password") is None  # chosen by the caller, not echoed

    r = api.client.post("/api/v1/users", json={"username": "gen", "role": "editor"}, headers=admin)
    assert r.status_code == 201, r.text
    generated = r.json()["password"]
    assert isinstance(generated, str)
    assert len(generated) >= 8

    users = {
        u["username"]: u["role"] for u in items(api.client.get("/api/v1/users", headers=admin))
    }
    assert users == {"root": "admin", "dora": "viewer", "gen": "editor"}

    problem(
        api.client.post("/api/v1/users", json={"username": "dora", "role": "admin"}, headers=admin),
        409,
    )
    problem(
        api.client.post("/api/v1/users", json={"username": "x", "role": "god"}, headers=admin), 400
    )
    problem(
        api.client.post(
            "/api/v1/users", json={"username": "bad name!", "role": "viewer"}, headers=admin
        ),
        400,
    )

    r = api.client.patch("/api/v1/users/dora", json={"role": "editor"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "editor"
    problem(api.client.patch("/api/v1/users/nobody", json={"role": "editor"}, headers=admin), 404)
    problem(api.client.patch("/api/v1/users/dora", json={"role": "owner"}, headers=admin), 400)


def test_role_change_applies_to_existing_tokens(api: Api) -> None:
    admin = api.token("admin")
    viewer = api.token("viewer", "val")
    body = {"id": "new-comp", "kind": "library"}
    problem(api.client.post("/api/v1/components", json=body, headers=viewer), 403)
    api.client.patch("/api/v1/users/val", json={"role": "editor"}, headers=admin)
    assert api.client.post("/api/v1/components", json=body, headers=viewer).status_code == 201
    assert api.client.get("/api/v1/me", headers=viewer).json()["role"] == "editor"
    api.client.patch("/api/v1/users/val", json={"role": "viewer"}, headers=admin)
    problem(api.client.delete("/api/v1/components/new-comp", headers=viewer), 403)


def test_healthz_and_readyz_need_no_credentials(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    r = api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"


# ---- the last admin, password changes, token use ---------------------------------------


def test_demoting_the_last_admin_is_409(api: Api) -> None:
    root = api.token("admin", "root")
    for role in ("editor", "viewer"):
        body = problem(
            api.client.patch("/api/v1/users/root", json={"role": role}, headers=root), 409
        )
        assert "admin" in body["detail"]
    assert api.client.get("/api/v1/me", headers=root).json()["role"] == "admin"
    # re-stating the role of the last admin is no demotion
    r = api.client.patch("/api/v1/users/root", json={"role": "admin"}, headers=root)
    assert r.status_code == 200, r.text

    # with a second admin, one of them may step down; then the other is the last one
    ada = api.token("viewer", "ada")
    r = api.client.patch("/api/v1/users/ada", json={"role": "admin"}, headers=root)
    assert r.status_code == 200, r.text
    r = api.client.patch("/api/v1/users/root", json={"role": "editor"}, headers=root)
    assert r.status_code == 200, r.text
    problem(api.client.patch("/api/v1/users/ada", json={"role": "viewer"}, headers=ada), 409)
    with unit_of_work(api.runtime.sessions) as s:
        assert {u.username: u.role for u in s.query(User)} == {"root": "editor", "ada": "admin"}


def test_the_last_admin_cannot_demote_itself_but_another_admin_can_be(api: Api) -> None:
    root = api.token("admin", "root")
    api.token("admin", "second")
    assert (
        api.client.patch("/api/v1/users/second", json={"role": "viewer"}, headers=root).status_code
        == 200
    )
    body = problem(
        api.client.patch("/api/v1/users/root", json={"role": "viewer"}, headers=root), 409
    )
    assert "admin" in body["detail"]
    users = {u["username"]: u["role"] for u in items(api.client.get("/api/v1/users", headers=root))}
    assert users == {"root": "admin", "second": "viewer"}


def web_session(api: Api, username: str) -> dict[str, str]:
    """Sign ``username`` in as the web UI does; returns the Cookie header."""
    with unit_of_work(api.runtime.sessions, write=True) as s:
        user = accounts.get_user(s, username)
        started = accounts.start_web_session(s, api.secret, user)
    return {"Cookie": f"{SESSION_COOKIE}={started.cookie}"}


def sessions_of(api: Api, username: str) -> int:
    with unit_of_work(api.runtime.sessions) as s:
        user = accounts.get_user(s, username)
        return s.query(WebSession).filter(WebSession.user_id == user.id).count()


def test_a_new_password_signs_the_user_out_of_every_browser(api: Api) -> None:
    root = api.token("admin", "root")
    pat = api.token("editor", "pat")
    browsers = [web_session(api, "pat"), web_session(api, "pat")]
    others = web_session(api, "root")
    for cookie in [*browsers, others]:
        r = api.client.get("/api/v1/me", headers=cookie)
        assert r.status_code == 200, r.text
    assert sessions_of(api, "pat") == 2

    # a role change alone keeps the sessions
    r = api.client.patch("/api/v1/users/pat", json={"role": "viewer"}, headers=root)
    assert r.status_code == 200, r.text
    assert api.client.get("/api/v1/me", headers=browsers[0]).json()["role"] == "viewer"

    r = api.client.patch(
        "/api/v1/users/pat", json={"password": "a brand new password"}, headers=root
    )
    assert r.status_code == 200, r.text
    for cookie in browsers:
        problem(api.client.get("/api/v1/me", headers=cookie), 401)
    assert sessions_of(api, "pat") == 0
    # other users stay signed in; the user's tokens are separate credentials and still work
    assert api.client.get("/api/v1/me", headers=others).json()["username"] == "root"
    assert sessions_of(api, "root") == 1
    assert api.client.get("/api/v1/me", headers=pat).json()["username"] == "pat"
    with unit_of_work(api.runtime.sessions) as s:
        assert accounts.check_password(s, "pat", "a brand new password") is not None
        assert accounts.check_password(s, "pat", factories.PASSWORD) is None


def test_a_too_short_password_keeps_the_sessions(api: Api) -> None:
    root = api.token("admin", "root")
    api.token("viewer", "pat")
    cookie = web_session(api, "pat")
    body = problem(
        api.client.patch("/api/v1/users/pat", json={"password": "short"}, headers=root), 400
    )
    assert body["detail"]
    assert api.client.get("/api/v1/me", headers=cookie).json()["username"] == "pat"


def test_token_last_use_is_stamped_on_first_use(api: Api) -> None:
    h = api.token("viewer", "vera")
    fresh = api.client.post("/api/v1/tokens", json={"name": "reader"}, headers=h).json()
    writer = api.client.post("/api/v1/tokens", json={"name": "writer"}, headers=h).json()
    assert fresh["lastUsedAt"] is None
    listed = {t["name"]: t for t in items(api.client.get("/api/v1/tokens", headers=h))}
    assert listed["reader"]["lastUsedAt"] is None
    assert listed["writer"]["lastUsedAt"] is None
    assert listed["test"]["lastUsedAt"] is not None  # it made the requests above

    before = datetime.now(UTC)
    assert api.client.get("/api/v1/me", headers=bearer(fresh["token"])).status_code == 200
    # a state-changing request stamps its token as well
    r = api.client.post("/api/v1/tokens", json={"name": "more"}, headers=bearer(writer["token"]))
    assert r.status_code == 201, r.text
    after = datetime.now(UTC)

    listed = {t["name"]: t for t in items(api.client.get("/api/v1/tokens", headers=h))}
    for name in ("reader", "writer"):
        stamp = listed[name]["lastUsedAt"]
        assert stamp is not None, listed[name]
        assert stamp.endswith("Z"), stamp
        assert before <= datetime.fromisoformat(stamp) <= after
    assert listed["more"]["lastUsedAt"] is None
