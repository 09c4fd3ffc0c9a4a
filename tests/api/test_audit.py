"""The audit log: who changed what, when and from where, written with the change itself
(issue 8, "Also in this issue"). Real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from extci.audit.models import AuditAction, AuditEntry
from extci.db import unit_of_work
from extci.keys import service as keys
from tests.api.helpers import items
from tests.support import factories
from tests.support.api import Api
from tests.support.problems import pointers, problem

C = "/api/v1/components/orders"
CLIENT = "testclient"  # the client address Starlette's TestClient reports


def audit(api: Api, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    return items(api.client.get("/api/v1/audit", params=params, headers=headers))


def ok(r: Any) -> Any:
    assert r.is_success, r.text
    return r.json() if r.content else None


def test_every_management_change_is_recorded_with_actor_and_address(api: Api) -> None:
    root = api.token("admin", "root")
    api.token("viewer", "bob")
    before = datetime.now(UTC)
    ok(
        api.client.post(
            "/api/v1/components", json={"id": "orders", "kind": "library"}, headers=root
        )
    )
    ok(api.client.put(f"{C}/ci-mode", json={"mode": "external"}, headers=root))
    key = ok(api.client.post(f"{C}/ci-keys", json={"name": "jenkins"}, headers=root))
    ok(api.client.post(f"{C}/ci-keys/{key['id']}/suspend", headers=root))
    ok(api.client.post(f"{C}/ci-keys/{key['id']}/resume", headers=root))
    ok(api.client.delete(f"{C}/ci-keys/{key['id']}", headers=root))
    body = {"username": "dora", "role": "viewer", "password": "long enough password"}
    ok(api.client.post("/api/v1/users", json=body, headers=root))
    ok(api.client.patch("/api/v1/users/dora", json={"role": "editor"}, headers=root))
    ok(api.client.patch("/api/v1/users/dora", json={"password": "another long one"}, headers=root))
    ok(api.client.patch("/api/v1/users/dora", json={"active": False}, headers=root))
    ok(api.client.patch("/api/v1/users/dora", json={"active": True}, headers=root))
    token = ok(api.client.post("/api/v1/tokens", json={"name": "laptop"}, headers=root))
    ok(api.client.delete(f"/api/v1/tokens/{token['id']}", headers=root))
    bobs = items(api.client.get("/api/v1/users/bob/tokens", headers=root))[0]
    ok(api.client.delete(f"/api/v1/users/bob/tokens/{bobs['id']}", headers=root))
    ok(api.client.delete(C, headers=root))
    after = datetime.now(UTC)

    entries = audit(api, root, actor="root")
    expected = [
        ("component.deleted", "orders", "orders", {}),
        ("token.deleted", None, f"token {bobs['id']}", {"user": "bob", "name": "test"}),
        ("token.deleted", None, f"token {token['id']}", {"user": "root", "name": "laptop"}),
        ("token.created", None, f"token {token['id']}", {"user": "root", "name": "laptop"}),
        ("user.activated", None, "dora", {}),
        ("user.deactivated", None, "dora", {}),
        ("user.password-changed", None, "dora", {}),
        ("user.role-changed", None, "dora", {"from": "viewer", "to": "editor"}),
        ("user.created", None, "dora", {"role": "viewer"}),
        ("key.deleted", "orders", f"key {key['id']}", {"name": "jenkins", "hint": key["hint"]}),
        ("key.resumed", "orders", f"key {key['id']}", {"name": "jenkins", "hint": key["hint"]}),
        ("key.suspended", "orders", f"key {key['id']}", {"name": "jenkins", "hint": key["hint"]}),
        ("key.created", "orders", f"key {key['id']}", {"name": "jenkins", "hint": key["hint"]}),
        ("component.ci-mode-changed", "orders", "orders", {"from": "platform", "to": "external"}),
    ]
    assert [(e["action"], e["componentId"], e["target"], e["details"]) for e in entries] == expected
    for e in entries:
        assert e["actor"] == "root"
        assert e["address"] == CLIENT
        assert before <= datetime.fromisoformat(e["createdAt"]) <= after
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    # no secret is ever part of an entry
    everything = api.client.get("/api/v1/audit", headers=root).text
    assert key["key"] not in everything
    assert token["token"] not in everything
    assert "long enough password" not in everything


def test_a_refused_change_leaves_no_entry(api: Api) -> None:
    root = api.token("admin", "root")
    api.token("viewer", "bob")
    api.component("orders", external=False)
    recorded = audit(api, root)
    refused = [
        (api.client.patch("/api/v1/users/root", json={"active": False}, headers=root), 409),
        # a role change and a bad password in one request: neither is applied
        (
            api.client.patch(
                "/api/v1/users/bob", json={"role": "editor", "password": "short"}, headers=root
            ),
            400,
        ),
        (
            api.client.post(
                "/api/v1/users", json={"username": "BOB", "role": "viewer"}, headers=root
            ),
            409,
        ),
        (api.client.post(f"{C}/ci-keys", json={"name": "k"}, headers=root), 409),
        (api.client.post(f"{C}/ci-keys/99/suspend", headers=root), 404),
        (api.client.put(f"{C}/ci-mode", json={"mode": "sideways"}, headers=root), 400),
        (api.client.delete("/api/v1/users/bob/tokens/999", headers=root), 404),
        (
            api.client.patch(
                "/api/v1/users/bob", json={"active": False}, headers=api.token("editor")
            ),
            403,
        ),
    ]
    for response, status in refused:
        problem(response, status)
    after = audit(api, root)
    # the editor's token (set-up by the test factories, actor "tests") is the only new entry
    new = [e for e in after if e not in recorded]
    assert [(e["action"], e["actor"]) for e in new] == [("token.created", "tests")]
    users = {
        u["username"]: (u["role"], u["active"])
        for u in items(api.client.get("/api/v1/users", headers=root))
    }
    assert users["bob"] == ("viewer", True)
    assert users["root"] == ("admin", True)


def test_an_entry_commits_with_its_change_or_not_at_all(api: Api) -> None:
    """Same transaction: when the unit of work fails after the change, both are gone."""
    api.component("orders")
    key_id, _ = factories.make_key(api.runtime.sessions, api.secret, "orders")
    with pytest.raises(RuntimeError), unit_of_work(api.runtime.sessions, write=True) as s:
        keys.suspend(s, "orders", key_id, actor=factories.TESTS)
        assert s.query(AuditEntry).filter_by(action=AuditAction.KEY_SUSPENDED).count() == 1
        raise RuntimeError("the rest of the request failed")
    with unit_of_work(api.runtime.sessions) as s:
        assert s.query(AuditEntry).filter_by(action=AuditAction.KEY_SUSPENDED).count() == 0
        assert keys.get(s, "orders", key_id).status == "ACTIVE"
    with unit_of_work(api.runtime.sessions, write=True) as s:
        keys.suspend(s, "orders", key_id, actor=factories.TESTS)
    with unit_of_work(api.runtime.sessions) as s:
        [entry] = s.query(AuditEntry).filter_by(action=AuditAction.KEY_SUSPENDED).all()
        assert (entry.actor, entry.address, entry.component_id) == ("tests", None, "orders")


def test_the_audit_log_filters_and_pages(api: Api) -> None:
    root = api.token("admin", "root")
    editor = api.token("editor", "erin")
    for component in ("orders", "billing"):
        body = {"id": component, "kind": "library"}
        ok(api.client.post("/api/v1/components", json=body, headers=root))
        ok(
            api.client.put(
                f"/api/v1/components/{component}/ci-mode", json={"mode": "external"}, headers=editor
            )
        )
        ok(
            api.client.post(
                f"/api/v1/components/{component}/ci-keys", json={"name": "k"}, headers=editor
            )
        )

    by_component = audit(api, root, component="orders")
    assert [e["action"] for e in by_component] == ["key.created", "component.ci-mode-changed"]
    assert {e["componentId"] for e in by_component} == {"orders"}
    by_actor = audit(api, root, actor="erin")
    assert len(by_actor) == 4
    assert {e["actor"] for e in by_actor} == {"erin"}
    assert audit(api, root, actor="root") == []  # creating a component is not audited
    created = audit(api, root, action="key.created", actor="erin")
    assert [e["componentId"] for e in created] == ["billing", "orders"]
    assert audit(api, root, component="orders", action="key.created", actor="root") == []

    first = api.client.get(
        "/api/v1/audit", params={"actor": "erin", "limit": 3}, headers=root
    ).json()
    assert len(first["items"]) == 3
    rest = items(
        api.client.get(
            "/api/v1/audit", params={"actor": "erin", "cursor": first["nextCursor"]}, headers=root
        )
    )
    assert [e["id"] for e in first["items"] + rest] == [e["id"] for e in by_actor]

    body = problem(
        api.client.get("/api/v1/audit", params={"action": "key.stolen"}, headers=root), 400
    )
    assert pointers(body) == ["/action"]
    assert "key.created" in body["errors"][0]["detail"]
    body = problem(api.client.get("/api/v1/audit", params={"cursor": "nope"}, headers=root), 400)
    assert pointers(body) == ["/cursor"]
    body = problem(api.client.get("/api/v1/audit", params={"actor": "a\x00b"}, headers=root), 400)
    assert pointers(body) == ["/actor"]


def test_only_an_admin_reads_the_audit_log(api: Api) -> None:
    for role in ("viewer", "editor"):
        body = problem(api.client.get("/api/v1/audit", headers=api.token(role)), 403)
        assert "admin" in body["detail"]
    problem(api.client.get("/api/v1/audit"), 401)
    assert api.client.get("/api/v1/audit", headers=api.token("admin")).status_code == 200
