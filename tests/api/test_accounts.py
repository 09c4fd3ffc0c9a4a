"""Current user, personal access tokens, users and roles; health probes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extci import security
from extci.accounts.models import PersonalAccessToken
from tests.api.helpers import PAT, pointers, problem
from tests.conftest import Api


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
    listed = api.client.get("/api/v1/tokens", headers=h).json()
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t for t in listed)
    assert token not in api.client.get("/api/v1/tokens", headers=h).text
    mine = next(t for t in listed if t["name"] == "laptop")
    assert mine["id"] == created["id"]
    assert mine["hint"].endswith(token[-4:])

    r = api.client.delete(f"/api/v1/tokens/{created['id']}", headers=h)
    assert r.status_code == 204
    problem(api.client.get("/api/v1/me", headers=bearer(token)), 401)
    assert [t["name"] for t in api.client.get("/api/v1/tokens", headers=h).json()] == ["test"]
    problem(api.client.delete(f"/api/v1/tokens/{created['id']}", headers=h), 404)


def test_tokens_are_per_user(api: Api) -> None:
    alice, bob = api.token("admin", "alice"), api.token("viewer", "bob")
    bobs = api.client.post("/api/v1/tokens", json={"name": "bob-ci"}, headers=bob).json()
    alice_list = api.client.get("/api/v1/tokens", headers=alice).json()
    assert "bob-ci" not in {t["name"] for t in alice_list}
    # not even an admin deletes another user's token through /tokens
    problem(api.client.delete(f"/api/v1/tokens/{bobs['id']}", headers=alice), 404)
    assert api.client.get("/api/v1/me", headers=bearer(bobs["token"])).json()["username"] == "bob"
    assert "bob-ci" in {t["name"] for t in api.client.get("/api/v1/tokens", headers=bob).json()}


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
        u["username"]: u["role"] for u in api.client.get("/api/v1/users", headers=admin).json()
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
