"""Rotating a CI key without downtime, following docs/security.md "Rotating a CI key" step
by step through the JSON API, on SQLite and PostgreSQL.

A revoked or expired key is refused within a bounded lag (the server may cache keys for a
moment), so the refusal is awaited by polling, never assumed to be instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx

from tests.api.helpers import items
from tests.support import events as ev
from tests.support.api import Api
from tests.support.eventually import eventually

C = "/api/v1/components/orders-service"
# The old key's expiry, from its creation: long enough for the steps before it to run
# on a busy machine, short enough to wait for.
OLD_KEY_LIFETIME = timedelta(seconds=4)
# An upper bound on how long a revoked key may still be accepted (cache lag ≤ 2 s);
# generous because the machine may be loaded.
REVOCATION_BOUND = 15.0


def _key(api: Api, editor: dict[str, str], name: str, expires: datetime | None = None) -> str:
    body: dict[str, Any] = {"name": name}
    if expires is not None:
        body["expiresAt"] = expires.isoformat()
    created = api.client.post(f"{C}/ci-keys", json=body, headers=editor)
    assert created.status_code == 201, created.text
    secret: str = created.json()["key"]
    return secret


def _keys(api: Api, editor: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {k["name"]: k for k in items(api.client.get(f"{C}/ci-keys", headers=editor))}


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 401


def test_rotation_with_an_expiring_old_key(api: Api) -> None:
    editor = api.token("editor")
    api.component("orders-service")
    # The key in use, created with an expiry: it retires itself when that comes.
    old_expiry = datetime.now(UTC) + OLD_KEY_LIFETIME
    old = _key(api, editor, "jenkins-old", old_expiry)
    assert api.send(ev.start("orders-41", "orders-service"), old).status_code == 200

    # Step 1: a new key. Both are active now; events with either are accepted.
    new = _key(api, editor, "jenkins-new")
    assert datetime.now(UTC) < old_expiry, "setup outran the old key's expiry; raise it"
    statuses = {k["name"]: k["status"] for k in _keys(api, editor).values()}
    assert statuses == {"jenkins-old": "ACTIVE", "jenkins-new": "ACTIVE"}
    assert api.send(ev.result("orders-41", ev.git_revision()), old).status_code == 200

    # Step 2: the CI secret is switched. New runs use the new key; a run that started
    # before the switch may finish with either (both belong to the component).
    assert api.send(ev.start("orders-42", "orders-service"), new).status_code == 200
    assert api.send(ev.result("orders-41", ev.artifact("container")), new).status_code == 200

    # Step 3: the old key's expiry passes: it is refused, the new one keeps working.
    retry = ev.start("orders-41", "orders-service")  # a retried start: changes nothing
    eventually(
        lambda: api.send(retry, old), _refused, within=OLD_KEY_LIFETIME.seconds + 15, every=0.25
    )
    assert _keys(api, editor)["jenkins-old"]["status"] == "EXPIRED"
    assert api.send(ev.end("orders-41"), new).status_code == 200
    assert api.send(ev.end("orders-42"), new).status_code == 200
    refused = api.send(ev.start("orders-43", "orders-service"), old)
    assert refused.status_code == 401
    builds = items(api.client.get(f"{C}/builds", headers=editor))
    assert {b["pipelineId"] for b in builds} == {"orders-41", "orders-42"}

    # Step 4: "last used" shows the new key in use; the old one stopped before its expiry.
    listed = _keys(api, editor)
    assert listed["jenkins-new"]["lastUsedAt"] is not None
    last_old = datetime.fromisoformat(listed["jenkins-old"]["lastUsedAt"])
    assert last_old < old_expiry


def test_rotation_by_suspending_the_old_key(api: Api) -> None:
    editor = api.token("editor")
    api.component("orders-service")
    old = _key(api, editor, "gitlab-old")
    new = _key(api, editor, "gitlab-new")
    assert api.send(ev.start("run-1", "orders-service"), old).status_code == 200
    assert api.send(ev.start("run-2", "orders-service"), new).status_code == 200
    listed = _keys(api, editor)
    assert listed["gitlab-new"]["lastUsedAt"] is not None
    old_id = listed["gitlab-old"]["id"]

    # Suspending is reversible: the old key is refused within the revocation bound ...
    suspended = api.client.post(f"{C}/ci-keys/{old_id}/suspend", headers=editor)
    assert suspended.json()["status"] == "SUSPENDED"
    retry = ev.start("run-1", "orders-service")
    eventually(lambda: api.send(retry, old), _refused, within=REVOCATION_BOUND)
    assert api.send(ev.end("run-1"), new).status_code == 200

    # ... and accepted again after a resume, if something turned out to still need it.
    assert api.client.post(f"{C}/ci-keys/{old_id}/resume", headers=editor).status_code == 200
    eventually(
        lambda: api.send(retry, old), lambda r: r.status_code == 200, within=REVOCATION_BOUND
    )

    # Deleting it is final; the new key is untouched by all of this.
    assert api.client.delete(f"{C}/ci-keys/{old_id}", headers=editor).status_code == 204
    eventually(lambda: api.send(retry, old), _refused, within=REVOCATION_BOUND)
    assert api.send(ev.end("run-2"), new).status_code == 200
    assert list(_keys(api, editor)) == ["gitlab-new"]
