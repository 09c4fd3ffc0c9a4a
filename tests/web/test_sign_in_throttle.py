"""The sign-in throttle (management.md §1): failures counted per (client address, username)
and per client address, checked and counted before any password is hashed; hashing bounded
so that a burst of sign-ins never starves the webhook."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.support import events as ev
from tests.support import factories
from tests.support.api import SECRET, Api
from tests.support.databases import PostgresDatabase
from tests.support.live import LiveServer
from tests.support.signin import post_sign_in, sign_in_form

PASSWORD = "correct horse battery"
ATTACKER, OWNER = "198.51.100.1", "203.0.113.7"


def from_address(app: FastAPI, address: str) -> TestClient:
    """A client whose TCP peer address is ``address`` (what ``request.client`` reports)."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def attempt(client: TestClient, username: str, password: str, **headers: str) -> int:
    return post_sign_in(client, sign_in_form(client), username, password, headers).status_code


def test_guesses_from_one_address_never_lock_the_owner_out_at_another(api: Api) -> None:
    api.token("editor")
    attacker = from_address(api.client.app, ATTACKER)
    assert [attempt(attacker, "editor", "guess") for _ in range(5)] == [401] * 5
    assert attempt(attacker, "editor", "guess") == 429
    assert attempt(attacker, "EDITOR", "guess") == 429  # usernames compare case-blind
    assert attempt(attacker, "editor", PASSWORD) == 429  # the guesser waits even when right
    owner = from_address(api.client.app, OWNER)
    assert attempt(owner, "editor", PASSWORD) == 303


@pytest.fixture
def strict_app(settings: Settings) -> Iterator[FastAPI]:
    """Three failures per address, behind a trusted proxy at 127.0.0.1."""
    app = create_app(
        settings.model_copy(
            update={
                "sign_in_failures_per_address": 3,
                "trusted_proxies": (ip_network("127.0.0.1"),),
            }
        )
    )
    with TestClient(app):
        yield app
    app.state.runtime.close()


def test_one_address_is_limited_across_usernames(strict_app: FastAPI, api: Api) -> None:
    attacker = from_address(strict_app, ATTACKER)
    assert [attempt(attacker, name, "guess") for name in ("a", "b", "c")] == [401] * 3
    assert attempt(attacker, "d", "guess") == 429


def test_x_forwarded_for_is_believed_only_from_the_trusted_proxy(strict_app: FastAPI) -> None:
    # A client talking to us directly cannot pick the address it is counted under.
    attacker = from_address(strict_app, ATTACKER)
    spoofed = [
        attempt(attacker, "x", "guess", **{"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(4)
    ]
    assert spoofed == [401, 401, 401, 429]
    # Through the proxy, each forwarded client has its own count, and what a client wrote
    # to the left of the address the proxy saw is ignored.
    proxy = from_address(strict_app, "127.0.0.1")
    guesser = "192.0.2.50"
    chains = [f"10.0.0.{i}, {guesser}" for i in range(4)]
    assert [attempt(proxy, "x", "guess", **{"X-Forwarded-For": c}) for c in chains] == [
        401,
        401,
        401,
        429,
    ]
    assert attempt(proxy, "x", "guess", **{"X-Forwarded-For": OWNER}) == 401


# ---- a live server: real concurrency ------------------------------------------------


@pytest.fixture
def proxied_server(tmp_path: Path) -> Iterator[LiveServer]:
    """``extci serve`` trusting X-Forwarded-For from 127.0.0.1, so tests can speak for many
    client addresses."""
    server = LiveServer(tmp_path / "server", extra_env={"EXTCI_TRUSTED_PROXIES": "127.0.0.1"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def burst(
    server: LiveServer, attempts: list[tuple[str, str]], during: threading.Event | None = None
) -> Counter[int]:
    """Post every (client address, username) with a wrong password at the same moment;
    ``during`` is set as they go."""
    go = threading.Barrier(len(attempts))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        token = sign_in_form(client)
        cookies = dict(client.cookies)

    def one(address_user: tuple[str, str]) -> int:
        # A client of its own per attempt: every answer re-issues the form's cookie, and a
        # shared cookie jar would send a newer cookie than ``token`` (a 403, not a guess).
        address, username = address_user
        with httpx.Client(base_url=server.url, timeout=60, cookies=cookies) as own:
            go.wait()
            if during is not None:
                during.set()
            response = post_sign_in(
                own, token, username, "wrong password", {"X-Forwarded-For": address}
            )
        if response.status_code in (429, 503):
            assert int(response.headers["retry-after"]) >= 1
        return response.status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        return Counter(pool.map(one, attempts))


def test_simultaneous_wrong_passwords_cannot_outrun_the_throttle(
    proxied_server: LiveServer,
) -> None:
    answers = burst(proxied_server, [(ATTACKER, "tester")] * 40)
    # Exactly the five the throttle allows reached the password hasher; the rest waited.
    assert answers == Counter({401: 5, 429: 35})


def test_a_webhook_is_answered_during_a_burst_of_sign_ins(proxied_server: LiveServer) -> None:
    key = proxied_server.external_component("orders")
    headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
    with httpx.Client(base_url=proxied_server.url, timeout=60) as ci:
        assert ci.post("/ci/webhook", json=ev.start("p-1", "orders"), headers=headers).is_success
        going = threading.Event()
        with ThreadPoolExecutor(1) as side:
            # 60 distinct addresses: the throttle lets every one through to the hasher.
            answers = side.submit(
                burst, proxied_server, [(f"10.1.0.{i}", "tester") for i in range(60)], going
            )
            assert going.wait(60)
            ended = ci.post("/ci/webhook", json=ev.end("p-1"), headers=headers)
            counted = answers.result()
    assert ended.status_code == 200, ended.text
    assert proxied_server.build("orders", "p-1")["status"] == "INCOMPLETE"  # ended
    # Hashing is bounded: the burst past what may wait for a hash was refused at once
    # (503 + Retry-After) instead of piling up on the server's threads.
    assert set(counted) <= {401, 503}
    assert counted[503] > 0
    assert counted[401] + counted[503] == 60


# ---- PostgreSQL: several processes share one count ------------------------------------


@pytest.mark.postgres
def test_processes_sharing_postgresql_share_one_count(
    postgres_database: PostgresDatabase, tmp_path: Path
) -> None:
    """Two apps on one database stand for two server processes: 30 simultaneous attempts
    spread over both still reach the password hasher exactly five times."""
    settings = Settings(
        database_url=postgres_database.empty(),
        data_dir=tmp_path,
        secret_key=SECRET,
        create_admin=False,
    )
    apps = [create_app(settings), create_app(settings)]
    factories.make_user(apps[0].state.runtime.sessions, settings.hmac_key, "editor", "editor")
    clients = [from_address(app, ATTACKER) for app in apps]
    tokens = [sign_in_form(client) for client in clients]
    go = threading.Barrier(30)

    def one(i: int) -> int:
        client, token = clients[i % 2], tokens[i % 2]
        go.wait()
        return post_sign_in(client, token, "editor", "guess").status_code

    try:
        with ThreadPoolExecutor(30) as pool:
            answers = Counter(pool.map(one, range(30)))
        assert answers == Counter({401: 5, 429: 25})
        # The owner, elsewhere, is not locked out on either process.
        for app in apps:
            assert attempt(from_address(app, OWNER), "editor", PASSWORD) == 303
    finally:
        for app in apps:
            app.state.runtime.close()
