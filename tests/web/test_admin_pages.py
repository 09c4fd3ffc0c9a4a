"""An admin's Users and Audit pages, and what deactivation does to signing in, over HTTP
(no browser) on SQLite and PostgreSQL."""

from __future__ import annotations

from extci.audit.models import AuditEntry
from extci.db import unit_of_work
from tests.support.api import Api
from tests.web.test_pages import PASSWORD, page_token, sign_in


def deactivate(api: Api, username: str, admin: dict[str, str], active: bool = False) -> None:
    r = api.client.patch(f"/api/v1/users/{username}", json={"active": active}, headers=admin)
    assert r.status_code == 200, r.text


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(api: Api) -> None:
    root = api.token("admin", "root")
    api.token("editor", "bob")
    assert sign_in(api, "bob").status_code == 303
    assert api.client.get("/components").status_code == 200

    deactivate(api, "bob", root)
    assert api.client.get("/components", follow_redirects=False).status_code == 303
    api.client.cookies.clear()
    refused = sign_in(api, "bob")
    assert refused.status_code == 403
    assert "This account is deactivated" in refused.text
    assert "extci_session=" not in refused.headers.get("set-cookie", "")
    # the wrong password tells nothing about the account's state
    wrong = sign_in(api, "bob", "wrong password")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert "deactivated" not in wrong.text

    deactivate(api, "bob", root, active=True)
    assert sign_in(api, "bob").status_code == 303
    assert api.client.get("/components").status_code == 200


def test_sign_in_ignores_the_case_of_the_username(api: Api) -> None:
    api.token("editor", "Bob")
    assert sign_in(api, "bOB").status_code == 303
    page = api.client.get("/components").text
    assert 'Signed in as </span>Bob <span class="role">editor</span>' in page


def test_an_admin_deactivates_and_activates_a_user_after_confirming(api: Api) -> None:
    api.token("admin", "root")
    bob = api.token("viewer", "bob")
    sign_in(api, "root")
    token = page_token(api)
    page = api.client.get("/users")
    assert page.status_code == 200
    assert 'href="/users"' in page.text
    assert 'href="/audit"' in page.text
    assert 'data-user="bob"' in page.text
    assert 'href="/users/bob/deactivate"' in page.text

    confirm = api.client.get("/users/bob/deactivate")
    assert confirm.status_code == 200
    assert "Deactivate bob?" in confirm.text
    assert 'action="/users/bob/deactivate"' in confirm.text

    done = api.client.post(
        "/users/bob/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/users?done=user-deactivated"
    listed = api.client.get(done.headers["location"]).text
    assert "User deactivated" in listed
    assert 'href="/users/bob/activate"' in listed
    assert api.client.get("/api/v1/me", headers=bob).status_code == 401

    done = api.client.post(
        "/users/bob/activate", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.headers["location"] == "/users?done=user-activated"
    assert api.client.get("/api/v1/me", headers=bob).status_code == 200

    # the last active admin: refused on the list itself, nothing changes
    last = api.client.post("/users/root/deactivate", data={"csrf_token": token})
    assert last.status_code == 409
    assert "last active admin" in last.text
    assert api.client.get("/users").status_code == 200  # still signed in, still admin

    with unit_of_work(api.runtime.sessions) as s:
        entries = [
            (e.actor, e.address, e.action, e.target)
            for e in s.query(AuditEntry).filter_by(actor="root").order_by(AuditEntry.id)
        ]
    assert entries == [
        ("root", "testclient", "user.deactivated", "bob"),
        ("root", "testclient", "user.activated", "bob"),
    ]


def test_an_admin_sees_and_deletes_a_users_tokens(api: Api) -> None:
    api.token("admin", "root")
    bob = api.token("viewer", "bob")
    secret = bob["Authorization"].removeprefix("Bearer ")
    sign_in(api, "root")
    token = page_token(api)
    page = api.client.get("/users/bob")
    assert page.status_code == 200
    assert secret not in page.text
    assert secret[-4:] in page.text  # the hint
    token_id = page.text.split('data-token="', 1)[1].split('"', 1)[0]
    confirm = api.client.get(f"/users/bob/tokens/{token_id}/delete")
    assert confirm.status_code == 200
    assert "Delete the token “test” of bob?" in confirm.text

    done = api.client.post(
        f"/users/bob/tokens/{token_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/users/bob?done=token-deleted#tokens"
    assert api.client.get("/api/v1/me", headers=bob).status_code == 401
    after = api.client.get(done.headers["location"]).text
    assert "Token deleted." in after
    assert "No personal access tokens." in after
    gone = api.client.post(f"/users/bob/tokens/{token_id}/delete", data={"csrf_token": token})
    assert gone.status_code == 404


def test_users_and_audit_pages_are_for_admins_only(api: Api) -> None:
    api.token("admin", "root")
    bob = api.token("viewer", "bob")
    for role in ("viewer", "editor"):
        api.token(role, f"the-{role}")
        api.client.cookies.clear()
        sign_in(api, f"the-{role}")
        token = page_token(api)
        nav = api.client.get("/components").text
        assert 'href="/users"' not in nav
        assert 'href="/audit"' not in nav
        for path in (
            "/users",
            "/users/bob",
            "/users/bob/deactivate",
            "/audit",
            "/users/bob/tokens/1/delete",
        ):
            refused = api.client.get(path)
            assert refused.status_code == 403, (role, path)
            assert "admin role" in refused.text
        for path in ("/users/bob/deactivate", "/users/bob/tokens/1/delete"):
            refused = api.client.post(path, data={"csrf_token": token})
            assert refused.status_code == 403, (role, path)
    assert api.client.get("/api/v1/me", headers=bob).status_code == 200  # nothing happened


def test_admin_forms_need_this_sessions_csrf_token(api: Api) -> None:
    api.token("admin", "root")
    bob = api.token("viewer", "bob")
    sign_in(api, "root")
    for data in ({}, {"csrf_token": "made-up"}):
        refused = api.client.post("/users/bob/deactivate", data=data)
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    assert api.client.get("/api/v1/me", headers=bob).status_code == 200


def test_the_audit_page_lists_and_filters(api: Api) -> None:
    root = api.token("admin", "root")
    api.component("orders")
    api.component("billing")
    for component in ("orders", "billing"):
        r = api.client.post(
            f"/api/v1/components/{component}/ci-keys", json={"name": "jenkins"}, headers=root
        )
        assert r.status_code == 201
    sign_in(api, "root")
    page = api.client.get("/audit").text
    assert page.count('data-action="key.created"') == 2
    assert page.count('data-action="component.ci-mode-changed"') == 2  # the set-up's
    assert "<code>testclient</code>" in page
    assert "command line" not in page
    filtered = api.client.get(
        "/audit", params={"component": "orders", "action": "key.created"}
    ).text
    assert filtered.count("<tr data-action") == 1
    assert 'href="/components/orders"' in filtered
    assert 'href="/components/billing"' not in filtered
    bad = api.client.get("/audit", params={"action": "nonsense"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/html")
    assert PASSWORD not in page
