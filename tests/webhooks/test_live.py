"""The outbox against real server processes: a SIGKILL between commit and send loses
nothing, a SIGKILL mid-send means a second delivery of the same message (at least once),
and two servers on one PostgreSQL database share the outbox without losing order."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support import events as ev
from tests.support.databases import PostgresDatabase
from tests.support.live import LiveServer
from tests.support.receiver import receiver
from tests.webhooks.verify import openssl_verifies

pytestmark = pytest.mark.slow

ALL = ["build.started", "build.finished", "build.deployable"]
SECRET_KEY = "a-server-secret-key-shared-by-every-process-0123456789"


def post_event(server: LiveServer, key: str, event: dict[str, Any]) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback URL
        f"{server.url}/ci/webhook",
        data=json.dumps(event).encode(),
        method="POST",
        headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        assert r.status == 200


def run_build(server: LiveServer, key: str, pipeline_id: str) -> None:
    post_event(server, key, ev.start(pipeline_id, "orders-service"))
    post_event(server, key, ev.result(pipeline_id, *ev.deployable()))
    post_event(server, key, ev.end(pipeline_id))


def deliveries(server: LiveServer, subscription_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = server.request(
        "GET", f"/api/v1/webhooks/{subscription_id}/deliveries?limit=200"
    )["items"]
    return items


def test_a_kill_between_commit_and_send_loses_nothing(tmp_path: Path) -> None:
    env = {
        "EXTCI_WEBHOOK_ALLOW_PRIVATE": "true",
        # Every delivery waits 3 s after its commit: the kill lands in between.
        "EXTCI_WEBHOOK_FIRST_DELAY": "3s",
        "EXTCI_WEBHOOK_POLL_INTERVAL": "100ms",
        "EXTCI_WEBHOOK_LEASE": "2s",
        "EXTCI_WEBHOOK_TIMEOUT": "1s",
    }
    with receiver() as hook:
        server = LiveServer(tmp_path / "server", extra_env=env).start()
        try:
            key = server.external_component("orders-service")
            sub = server.request(
                "POST",
                "/api/v1/components/orders-service/webhooks",
                {"url": hook.url + "/hook", "events": ALL},
            )
            # 1. The build is committed (every event answered 200), then SIGKILL.
            run_build(server, key, "orders-1")
            committed = time.monotonic()
            server.kill()
            killed = time.monotonic() - committed
            assert hook.requests == [], "sent before the kill: the test proves nothing"
            ready = server.launch()
            got = hook.wait_for(3, timeout=30)
            arrived = got[-1].at - committed
            assert [json.loads(r.body)["type"] for r in got] == ALL
            assert all(openssl_verifies(sub["secret"], r.headers, r.body) for r in got)

            # 2. SIGKILL while a delivery is being sent (the receiver holds its answer):
            # after the lease the restarted server sends it again, same webhook-id.
            hook.delay = 30.0
            post_event(server, key, ev.start("orders-2", "orders-service"))
            hook.wait_for(4, timeout=30)  # it is in flight now
            server.kill()
            hook.delay = 0.0
            server.launch()
            again = hook.wait_for(5, timeout=30)
            assert again[4].headers["webhook-id"] == again[3].headers["webhook-id"]
            assert json.loads(again[4].body)["data"]["pipelineId"] == "orders-2"

            # The receiver has the body before the server records its answer: wait for it.
            deadline = time.monotonic() + 10
            while True:
                log = deliveries(server, sub["id"])
                states = {(d["pipelineId"], d["event"]): d["state"] for d in log}
                if set(states.values()) == {"DELIVERED"} or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert set(states.values()) == {"DELIVERED"}
            assert len(states) == 4
        finally:
            server.stop()
    print(  # the figures for the report (pytest -s)
        f"\nkill {killed * 1000:.0f} ms after the commit; restart ready in {ready:.2f} s; "
        f"3 deliveries arrived {arrived:.2f} s after the commit (3 s first delay)"
    )


@pytest.mark.postgres
def test_two_servers_on_postgresql_share_the_outbox(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    url = postgres_database.empty()
    env = {
        "EXTCI_WEBHOOK_ALLOW_PRIVATE": "true",
        "EXTCI_WEBHOOK_POLL_INTERVAL": "50ms",
        "EXTCI_SECRET_KEY": SECRET_KEY,  # every process signs with the same secrets
    }
    with receiver() as hook:
        hook.answers = [500, 200] * 5  # some first attempts fail: retries interleave
        one = LiveServer(tmp_path / "one", extra_env=env, database_url=url).start()
        two = LiveServer(tmp_path / "two", extra_env=env, database_url=url)
        try:
            two.launch()
            two.token = one.token
            key = one.external_component("orders-service")
            sub = one.request(
                "POST",
                "/api/v1/components/orders-service/webhooks",
                {"url": hook.url, "events": ALL},
            )
            started = time.monotonic()
            builds = [f"orders-{i}" for i in range(8)]
            for i, pipeline_id in enumerate(builds):
                run_build(one if i % 2 else two, key, pipeline_id)
            got = hook.wait_for(len(builds) * 3 + 5, timeout=60)
            took = got[-1].at - started
        finally:
            one.stop()
            two.stop()
    per_build: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    for r in got:
        body = json.loads(r.body)
        if seen[r.headers["webhook-id"]] == 0 or per_build[body["data"]["pipelineId"]][-1:] != [
            body["type"]
        ]:
            per_build[body["data"]["pipelineId"]].append(body["type"])
        seen[r.headers["webhook-id"]] += 1
        assert openssl_verifies(sub["secret"], r.headers, r.body)
    assert len(seen) == len(builds) * 3  # every message arrived
    assert all(per_build[b] == ALL for b in builds)  # each build in order
    print(f"\n{len(got)} requests for {len(seen)} messages in {took:.2f} s, two servers")
