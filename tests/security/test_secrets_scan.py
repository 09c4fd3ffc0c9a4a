"""No plaintext secret is kept or repeated: a realistic workload against a live
``extci serve`` (users, a password change, tokens, CI keys from the API, the web form and
the CLI, events, signing in and out, refusals), then a scan of every response but each
secret's one creation response, of the server's log, and of what is stored: the data
directory's files (SQLite, WAL, SHM) or, on PostgreSQL, a text export of every table.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from psycopg import sql

from extci.security import keyed_hash
from tests.support import events as ev
from tests.support.databases import PostgresDatabase, require_postgres
from tests.support.eventually import eventually
from tests.support.live import LiveServer, free_port
from tests.support.secret_scan import Ledger, files_under

pytestmark = pytest.mark.slow

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
TESTER_PASSWORD = "correct horse battery"  # tests/support/live.py creates "tester" with it


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    # Webhooks go to 127.0.0.1 (a closed port: every attempt fails and is retried, logged).
    extra: dict[str, str] = {"EXTCI_WEBHOOK_ALLOW_PRIVATE": "true"}
    database: PostgresDatabase | None = None
    if request.param == "postgresql":
        require_postgres()
        database = PostgresDatabase()
        extra["EXTCI_DATABASE_URL"] = database.url
    live = LiveServer(tmp_path / "server", extra_env=extra).start()
    try:
        yield live
    finally:
        live.stop()
        if database is not None:
            database.drop()


def _csrf(response: httpx.Response) -> str:
    match = CSRF_FIELD.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


def _sign_in(ledger: Ledger, client: httpx.Client, username: str, password: str) -> str:
    """The sign-in form, as a browser fills it; returns the CSRF token of the new session."""
    token = _csrf(client.get("/sign-in"))
    done = client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )
    assert done.status_code == 303, done.text[:500]
    ledger.add(
        f"session cookie of {username}",
        client.cookies["extci_session"],
        ledger.last_response(),
        random=True,
    )
    return _csrf(client.get("/components"))


def expect(response: httpx.Response, status: int) -> httpx.Response:
    assert response.status_code == status, f"{response.request.url}: {response.text[:500]}"
    return response


def workload(server: LiveServer, ledger: Ledger) -> str:
    """What people and pipelines do on a first day; returns a CI key for the positive
    control of the storage scan."""
    ledger.add("tester's password (CLI)", TESTER_PASSWORD)
    ledger.add("tester's token (CLI)", server.token, random=True)
    admin = ledger.client(server.url)
    admin.headers["Authorization"] = f"Bearer {server.token}"

    # users: one with a chosen password, one with a generated one; a password change
    alice_first = ledger.add("alice's first password", "Alice's pass: 7 ribs & gravy!")
    user = {"username": "alice", "role": "editor", "password": alice_first}
    expect(admin.post("/api/v1/users", json=user), 201)
    bob = expect(admin.post("/api/v1/users", json={"username": "bob", "role": "viewer"}), 201)
    bob_password = ledger.add(
        "bob's generated password", bob.json()["password"], ledger.last_response(), random=True
    )
    alice_password = ledger.add("alice's changed password", "a brand-new passphrase, 2026")
    expect(admin.patch("/api/v1/users/alice", json={"password": alice_password}), 200)

    # alice in the browser: a wrong password first, then the right one; a token
    alice = ledger.client(server.url)
    wrong = ledger.add("a wrong password tried", "not-alices-password-" + secrets.token_hex(4))
    form = {"username": "alice", "password": wrong, "csrf_token": _csrf(alice.get("/sign-in"))}
    expect(alice.post("/sign-in", data=form), 401)
    csrf = _sign_in(ledger, alice, "alice", alice_password)
    made = alice.post("/api/v1/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    alice_token = ledger.add(
        "alice's token (API)",
        expect(made, 201).json()["token"],
        ledger.last_response(),
        random=True,
    )
    cli_token = server.cli("tokens", "create", "alice", "--name", "cli").strip()
    ledger.add("alice's token (CLI)", cli_token, random=True)

    # a component and its keys: from the API, the web form and the CLI
    api = ledger.client(server.url)
    api.headers["Authorization"] = f"Bearer {alice_token}"
    component = {"id": "orders", "kind": "application-component"}
    expect(api.post("/api/v1/components", json=component), 201)
    expect(api.put("/api/v1/components/orders/ci-mode", json={"mode": "external"}), 200)
    created = expect(api.post("/api/v1/components/orders/ci-keys", json={"name": "jenkins"}), 201)
    k1 = ledger.add("CI key (API)", created.json()["key"], ledger.last_response(), random=True)
    form = {"name": "gitlab", "expires": "", "csrf_token": csrf}
    page = expect(alice.post("/components/orders/keys", data=form), 200)
    shown = re.findall(r"extci_ci_[0-9A-Za-z]{38}", page.text)
    k2 = ledger.add("CI key (web form)", shown[0], ledger.last_response(), random=True)
    k3 = server.cli("keys", "create", "orders", "--name", "cli").strip()
    ledger.add("CI key (CLI)", k3, random=True)

    # webhook subscriptions, from the API and the web form: the signing secret shown once
    target = {"url": f"http://127.0.0.1:{free_port()}/hook", "events": ["build.started"]}
    made = expect(api.post("/api/v1/components/orders/webhooks", json=target), 201)
    hook = made.json()["id"]
    ledger.add("webhook secret (API)", made.json()["secret"], ledger.last_response(), random=True)
    form = {**target, "events": "build.finished", "format": "cdevents-binary", "csrf_token": csrf}
    page = expect(alice.post("/components/orders/webhooks", data=form), 200)
    shown = re.findall(r'value="(whsec_[^"]+)"', page.text)
    ledger.add("webhook secret (web form)", shown[0], ledger.last_response(), random=True)

    # pipelines at work, and the ways they get it wrong
    ci = ledger.client(server.url)
    ci.headers.update(ev.HEADERS)

    def send(event: dict[str, object] | bytes, key: str) -> int:
        headers = {"X-Codenow-Api-Key": key}
        if isinstance(event, bytes):
            return ci.post("/ci/webhook", content=event, headers=headers).status_code
        return ci.post("/ci/webhook", json=event, headers=headers).status_code

    assert send(ev.start("orders-1", "orders"), k1) == 200
    assert send(ev.result("orders-1", *ev.deployable()), k1) == 200
    assert send(ev.end("orders-1"), k3) == 200
    assert send(ev.start("orders-2", "orders"), k2) == 200
    assert send(b'{"type": "codenow.ci.start.event", "oops', k1) == 400
    assert send(ev.start("orders-3", "no-such-component"), k1) == 404
    assert send(ev.start("orders-4", "orders"), k1[:-1] + ("A" if k1[-1] != "A" else "B")) == 401
    assert send(ev.start("orders-4", "orders"), alice_token) == 401
    expect(api.get("/api/v1/me", headers={"Authorization": f"Bearer {k2}"}), 401)
    keys = expect(api.get("/api/v1/components/orders/ci-keys"), 200).json()["items"]
    gitlab = next(k["id"] for k in keys if k["name"] == "gitlab")
    expect(api.post(f"/api/v1/components/orders/ci-keys/{gitlab}/suspend"), 200)
    retried = ev.start("orders-2", "orders")  # changes nothing while the key still works
    eventually(lambda: send(retried, k2), lambda status: status == 401)  # revocation lag

    # bob signs in with the generated password, reads around, signs out
    viewer = ledger.client(server.url)
    bob_csrf = _sign_in(ledger, viewer, "bob", bob_password)
    for path in ("/components", "/components/orders", "/components/orders/builds/orders-1"):
        expect(viewer.get(path), 200)
    expect(viewer.post("/sign-out", data={"csrf_token": bob_csrf}), 303)

    # everything listed; alice's API token deleted with her CLI one, then refused
    expect(admin.get("/api/v1/users"), 200)
    for path in (
        "/api/v1/tokens",
        "/api/v1/components/orders/ci-keys",
        "/api/v1/components/orders/builds",
        "/api/v1/components/orders/builds/orders-1",
        "/openapi.json",
    ):
        expect(api.get(path), 200)
    cli = {"Authorization": f"Bearer {cli_token}"}
    tokens = expect(api.get("/api/v1/tokens", headers=cli), 200).json()["items"]
    laptop = next(t["id"] for t in tokens if t["name"] == "laptop")
    expect(api.delete(f"/api/v1/tokens/{laptop}", headers=cli), 204)
    expect(api.get("/api/v1/me"), 401)
    expect(alice.get("/components/orders"), 200)
    # the deliveries failed and were logged; their log read in the API and the UI
    admin_log = f"/api/v1/webhooks/{hook}/deliveries"
    eventually(
        lambda: expect(admin.get(admin_log), 200).json()["items"][0]["attemptCount"],
        lambda attempts: attempts >= 1,
    )
    for path in ("/components/orders/webhooks", f"/webhooks/{hook}"):
        expect(alice.get(path), 200)
    expect(admin.get("/api/v1/components/orders/webhooks"), 200)
    return k1


def _postgres_export(url: str) -> bytes:
    """Every row of every table as ``COPY ... TO STDOUT`` text, as pg_dump would write it."""
    chunks: list[bytes] = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        assert "ci_keys" in tables, tables
        for table in tables:
            chunks.append(f"-- {table}\n".encode())
            with conn.cursor().copy(
                sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
            ) as copy:
                chunks.extend(bytes(data) for data in copy)
    return b"".join(chunks)


def test_no_plaintext_secret_is_stored_logged_or_repeated(server: LiveServer) -> None:
    ledger = Ledger()
    try:
        k1 = workload(server, ledger)
    finally:
        ledger.close()
    assert len(ledger.secrets) >= 12
    assert not ledger.creation_responses_hold_their_secret()
    assert not ledger.leaks_in_responses(), ledger.leaks_in_responses()

    secret_key = (server.data_dir / "secret_key").read_bytes().strip()
    stored_hash = keyed_hash(secret_key, k1).encode()
    on_postgres = server.base_env["EXTCI_DATABASE_URL"].startswith("postgresql")
    scans = {"while running": files_under(server.data_dir)}
    server.stop()  # flushes the log; SQLite checkpoints its WAL into the database file
    scans["after stopping"] = files_under(server.data_dir)
    if on_postgres:
        scans["postgresql export"] = {
            "COPY of every table": _postgres_export(server.base_env["EXTCI_DATABASE_URL"])
        }

    for when, files in scans.items():
        leaks = {name: ledger.found_in(data) for name, data in files.items()}
        assert not any(leaks.values()), f"{when}: {leaks}"
    stored = b"".join(scans["postgresql export" if on_postgres else "while running"].values())
    assert stored_hash in stored, "the scan did not see the stored keys: wrong files?"
    log = scans["after stopping"]["server.log"]
    assert b"POST /ci/webhook" in log, "the scan did not see the server's log"
