"""A populated extci for the accessibility and keyboard tests and for `make screenshots`:
components in both CI modes, with keys in every state and builds of every status, two of
them still running. Seeded the way people and pipelines would: the JSON API and the webhook.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.support import events as ev
from tests.support.live import PASSWORDS, LiveServer, browser_server

ORDERS = "orders-service"  # External CI: keys, builds of every status, two running
PAYMENTS = "payments-lib"  # a library with builds and a key, switched back to the platform
INVENTORY = "inventory"  # External CI, just switched: no keys, no builds yet
SEARCH = "search-ui"  # never switched: platform builds

# pipelineId -> (version, status): every status a build page can show.
BUILDS = {
    "orders-1839": ("1.3.9", "LOST"),
    "orders-1842": ("1.4.0", "SUCCESSFUL"),
    "orders-1843": ("1.4.1", "INCOMPLETE"),
    "orders-1844": ("1.4.2", "FAILED"),
    "orders-1845": ("1.4.3", "CANCELLED"),
    "orders-1846": ("1.5.0-rc.1", "BUILDING"),
    "orders-1847": ("1.5.0-rc.2", "BUILDING"),
}
RUNNING = ("orders-1846", "orders-1847")


@dataclass
class Site:
    server: LiveServer
    env: dict[str, str]
    database: Path
    token: str
    keys: dict[str, str] = field(default_factory=dict)  # key name -> secret
    key_ids: dict[str, int] = field(default_factory=dict)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(
            method,
            f"{self.server.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def send(self, event: dict[str, Any], key: str = "jenkins-main") -> None:
        response = self.server.send(event, self.keys[key])
        assert response.status_code == 200, response.text

    def new_key(self, component: str, name: str, **extra: Any) -> None:
        made = self.api("POST", f"/components/{component}/ci-keys", {"name": name, **extra})
        self.keys[name] = made["key"]
        self.key_ids[name] = made["id"]

    def build_url(self, pipeline_id: str, component: str = ORDERS) -> str:
        return f"/components/{component}/builds/{pipeline_id}"


def start_site(tmp: Path) -> Site:
    database = tmp / "extci.db"
    server = browser_server(tmp, extra_env={"EXTCI_CREATE_ADMIN": "true"})
    try:
        server.launch()
        site = Site(server, server.env, database, _admin_token(server))
        _users(site)
        _seed(site)
    except BaseException:
        server.stop()
        raise
    return site


def _admin_token(server: LiveServer) -> str:
    """The first admin, as a new operator meets it: the password the server printed once,
    a sign-in, and a token made in that session (no CLI process to start: seconds saved)."""
    printed = re.search(r"with password\s+(\S+)", server.log_path.read_text())
    assert printed, "the server printed no first admin password"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        form = client.get("/sign-in").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        signed_in = client.post(
            "/sign-in",
            data={"username": "admin", "password": printed[1], "csrf_token": csrf[1]},
        )
        assert signed_in.status_code == 303, signed_in.text
        page = client.get("/components").text
        session_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert session_csrf
        made = client.post(
            "/api/v1/tokens", json={"name": "seed"}, headers={"X-CSRF-Token": session_csrf[1]}
        )
        assert made.status_code == 201, made.text
        token: str = made.json()["token"]
        return token


def _users(site: Site) -> None:
    """The three users of tests/support/live.PASSWORDS (the admin's password changed)."""
    for username, password in PASSWORDS.items():
        if username == "admin":
            site.api("PATCH", "/users/admin", {"password": password})
        else:
            site.api(
                "POST", "/users", {"username": username, "role": username, "password": password}
            )


def _seed(site: Site) -> None:
    for cid, name, kind in (
        (ORDERS, "Orders service", "application-component"),
        (PAYMENTS, "Payments library", "library"),
        (INVENTORY, "Inventory", "application-component"),
        (SEARCH, "Search UI", "application-component"),
    ):
        site.api("POST", "/components", {"id": cid, "name": name, "kind": kind})
    for cid in (ORDERS, PAYMENTS, INVENTORY):
        site.api("PUT", f"/components/{cid}/ci-mode", {"mode": "external"})
    site.new_key(ORDERS, "jenkins-main")
    site.new_key(ORDERS, "gitlab-ci", expiresAt="2031-01-31T00:00:00Z")
    site.new_key(ORDERS, "old-runner")
    site.api("POST", f"/components/{ORDERS}/ci-keys/{site.key_ids['old-runner']}/suspend")
    site.new_key(PAYMENTS, "payments-ci")

    for pipeline, (version, status) in BUILDS.items():
        site.send(ev.start(pipeline, ORDERS, version, pipelineName="orders/main"))
        if status == "INCOMPLETE":
            partial = [ev.git_revision("feature/x", "abcdef0123"), ev.artifact("container")]
            site.send(ev.result(pipeline, *partial))
        elif status != "BUILDING":
            site.send(ev.result(pipeline, *ev.deployable()))
        if status in ("SUCCESSFUL", "INCOMPLETE", "FAILED", "CANCELLED"):
            outcome = {"INCOMPLETE": "SUCCESSFUL", "CANCELLED": "CANCELED"}.get(status, status)
            site.send(ev.end(pipeline, outcome))
    # LOST: no event within the inactivity timeout (24 h): this build's last one is old.
    with sqlite3.connect(site.database) as db:
        db.execute(
            "UPDATE builds SET last_event_at = '2026-01-01 00:00:00.000000' WHERE pipeline_id = ?",
            ("orders-1839",),
        )

    site.send(ev.start("payments-77", PAYMENTS, "2.1.0"), "payments-ci")
    site.send(
        ev.result("payments-77", ev.git_revision(), ev.artifact("maven", "payments", "2.1.0")),
        "payments-ci",
    )
    site.send(ev.end("payments-77"), "payments-ci")
    site.api("PUT", f"/components/{PAYMENTS}/ci-mode", {"mode": "platform"})
