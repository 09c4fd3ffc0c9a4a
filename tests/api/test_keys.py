"""CI keys of a component: created once-shown, listed, suspended, resumed, deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extci import security
from extci.keys.models import CIKey
from tests.api.helpers import CI_KEY, items
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import pointers, problem

KEYS = "/api/v1/components/orders-service/ci-keys"
LIST_FIELDS = {
    "id",
    "name",
    "hint",
    "status",
    "expiresAt",
    "createdAt",
    "createdBy",
    "lastUsedAt",
}


def test_create_shows_the_key_once_in_the_documented_format(api: Api) -> None:
    api.component("orders-service")
    h = api.token("editor", "erin")
    r = api.client.post(KEYS, json={"name": "jenkins"}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["key"]
    assert CI_KEY.fullmatch(secret), secret
    assert security.token_is_well_formed(secret, security.CI_KEY_PREFIX)
    assert created["name"] == "jenkins"
    assert created["status"] == "ACTIVE"
    assert created["createdBy"] == "erin"
    assert created["expiresAt"] is None
    assert created["lastUsedAt"] is None
    assert created["hint"].startswith("extci_ci_")
    assert created["hint"].endswith(secret[-4:])
    assert secret[9:-4] not in created["hint"]

    listed = items(api.client.get(KEYS, headers=h))
    assert len(listed) == 1
    item = listed[0]
    assert set(item) >= LIST_FIELDS, item
    assert "key" not in item
    assert secret not in r.text.replace(secret, "", 1)  # shown exactly once in the response
    assert all(secret not in str(v) for v in item.values())
    assert item["id"] == created["id"]
    assert item["hint"] == created["hint"]
    assert item["createdBy"] == "erin"
    assert datetime.fromisoformat(item["createdAt"]) <= datetime.now(UTC)

    # it is a working key; use is stamped
    assert api.send(ev.start("p1", "orders-service"), secret).status_code == 200
    used = items(api.client.get(KEYS, headers=h))[0]
    assert used["lastUsedAt"] is not None


def test_two_keys_are_distinct_and_both_listed(api: Api) -> None:
    api.component("orders-service")
    h = api.token("editor")
    a = api.client.post(KEYS, json={"name": "a"}, headers=h).json()
    b = api.client.post(KEYS, json={"name": "b"}, headers=h).json()
    assert a["key"] != b["key"]
    assert {k["name"] for k in items(api.client.get(KEYS, headers=h))} == {"a", "b"}


def test_create_with_expiry(api: Api) -> None:
    api.component("orders-service")
    h = api.token("editor")
    expires = datetime.now(UTC) + timedelta(days=30)
    r = api.client.post(KEYS, json={"name": "ci", "expiresAt": expires.isoformat()}, headers=h)
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["expiresAt"]) == expires
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = problem(api.client.post(KEYS, json={"name": "ci", "expiresAt": past}, headers=h), 400)
    assert "/expiresAt" in pointers(body)


def test_expired_key_is_listed_as_expired_and_refused(api: Api) -> None:
    api.component("orders-service")
    h = api.token("viewer")
    soon = datetime.now(UTC) + timedelta(hours=1)
    key = api.key("orders-service", expires_at=soon)
    assert items(api.client.get(KEYS, headers=h))[0]["status"] == "ACTIVE"
    # time passes: move the stored expiry into the past
    with api.runtime.sessions() as s:
        row = s.query(CIKey).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    assert items(api.client.get(KEYS, headers=h))[0]["status"] == "EXPIRED"
    problem(api.send(ev.start("p1", "orders-service"), key), 401)


def test_suspend_resume_delete(api: Api) -> None:
    api.component("orders-service")
    h = api.token("editor")
    created = api.client.post(KEYS, json={"name": "ci"}, headers=h).json()
    key_url = f"{KEYS}/{created['id']}"

    r = api.client.post(f"{key_url}/suspend", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SUSPENDED"
    assert "key" not in r.json()
    assert items(api.client.get(KEYS, headers=h))[0]["status"] == "SUSPENDED"
    problem(api.send(ev.start("p1", "orders-service"), created["key"]), 401)

    r = api.client.post(f"{key_url}/resume", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ACTIVE"
    assert api.send(ev.start("p1", "orders-service"), created["key"]).status_code == 200

    r = api.client.delete(key_url, headers=h)
    assert r.status_code == 204
    assert items(api.client.get(KEYS, headers=h)) == []
    problem(api.send(ev.end("p1"), created["key"]), 401)
    problem(api.client.delete(key_url, headers=h), 404)
    problem(api.client.post(f"{key_url}/resume", headers=h), 404)


def test_key_of_another_component_is_not_found_here(api: Api) -> None:
    api.component("orders-service")
    api.component("billing")
    h = api.token("editor")
    other = api.client.post(
        "/api/v1/components/billing/ci-keys", json={"name": "x"}, headers=h
    ).json()
    problem(api.client.post(f"{KEYS}/{other['id']}/suspend", headers=h), 404)
    problem(api.client.delete(f"{KEYS}/{other['id']}", headers=h), 404)
    assert items(api.client.get(KEYS, headers=h)) == []
    still = items(api.client.get("/api/v1/components/billing/ci-keys", headers=h))
    assert [k["status"] for k in still] == ["ACTIVE"]


def test_no_key_for_a_platform_mode_component(api: Api) -> None:
    api.component("orders-service", external=False)
    h = api.token("editor")
    refused = problem(api.client.post(KEYS, json={"name": "ci"}, headers=h), 409)
    assert refused["detail"] == (
        "Component 'orders-service' is built by the platform; switch it to External CI "
        "before generating a CI key."
    )
    assert items(api.client.get(KEYS, headers=h)) == []


def test_keys_of_unknown_component_are_404(api: Api) -> None:
    h = api.token("editor")
    problem(api.client.get("/api/v1/components/nope/ci-keys", headers=h), 404)
    problem(api.client.post("/api/v1/components/nope/ci-keys", json={"name": "x"}, headers=h), 404)
