"""Concurrency (ci-events.md §4: "dedupe lives in database constraints, so it holds across
concurrent requests"): a real uvicorn server on a free 127.0.0.1 port, real sockets, many
client threads, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
import uvicorn

from extci.app import create_app
from extci.config import Settings
from extci.runtime import Runtime
from tests.support import events as ev
from tests.support import factories

T = TypeVar("T")


@dataclass
class LiveServer:
    base_url: str
    runtime: Runtime
    viewer: dict[str, str]
    retried_503: int = 0

    def component(self, component_id: str, kind: str = "application-component") -> str:
        factories.make_component(self.runtime.sessions, component_id, kind)
        return factories.make_key(
            self.runtime.sessions, self.runtime.settings.hmac_key, component_id
        )[1]

    def send(self, client: httpx.Client, event: dict[str, Any], key: str) -> httpx.Response:
        headers = {**ev.HEADERS, "X-Codenow-Api-Key": key}
        return client.post("/ci/webhook", content=json.dumps(event).encode(), headers=headers)

    def send_like_ci(self, client: httpx.Client, event: dict[str, Any], key: str) -> httpx.Response:
        """As ``curl --retry`` does: a 503 is transient and safe to retry (§6)."""
        for _ in range(10):
            r = self.send(client, event, key)
            if r.status_code != 503:
                return r
            self.retried_503 += 1
            time.sleep(float(r.headers["retry-after"]))
        return r

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60)

    def detail(self, component_id: str, pipeline_id: str) -> dict[str, Any]:
        with self.client() as c:
            r = c.get(
                f"/api/v1/components/{component_id}/builds/{pipeline_id}", headers=self.viewer
            )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def history(self, component_id: str) -> list[dict[str, Any]]:
        with self.client() as c:
            r = c.get(f"/api/v1/components/{component_id}/builds", headers=self.viewer)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", access_log=False, backlog=256
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        time.sleep(0.02)
    token = factories.make_user(runtime.sessions, runtime.settings.hmac_key, "viewer", "viewer")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime, {"Authorization": f"Bearer {token}"})
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        runtime.close()
    assert not thread.is_alive()


def together(n: int, task: Callable[[int], T]) -> list[T]:
    """Run ``task(i)`` for i in range(n) on n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait(timeout=30)
        return task(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_identical_starts_make_one_build(live: LiveServer) -> None:
    key = live.component("comp")
    event = ev.start("p1", "comp")

    def start(_: int) -> tuple[int, dict[str, Any]]:
        with live.client() as client:
            r = live.send_like_ci(client, event, key)
            return r.status_code, r.json()

    answers = together(50, start)
    assert [code for code, _ in answers] == [200] * 50, answers
    assert sum(1 for _, body in answers if body["duplicate"] is False) == 1
    assert all(body["buildStatus"] == "BUILDING" for _, body in answers)
    assert [b["pipelineId"] for b in live.history("comp")] == ["p1"]
    assert len(live.detail("comp", "p1")["events"]) == 1


@dataclass(frozen=True)
class Plan:
    pipeline_id: str
    component_id: str
    key: str
    batches: list[list[dict[str, Any]]]
    end: str
    expected: str


def plans(keys: dict[str, str]) -> list[Plan]:
    out = []
    for i in range(20):
        library = i % 2 == 1
        component = f"lib-{i % 4}" if library else f"app-{i % 4}"
        if library:
            batches = [[ev.git_tag(f"v{i}")], [ev.artifact("npm", f"lib{i}", f"{i}.0.0")]]
        else:
            batches = [
                [ev.git_revision(sha=f"sha-{i}")],
                [ev.artifact("container", f"app{i}", f"{i}.0.0")],
                [ev.artifact("helm", f"app{i}", f"{i}.0.0"), ev.link(f"log-{i}")],
            ]
        if i % 5 == 0:
            batches = batches[1:]  # a required result goes missing
        end = "FAILED" if i % 3 == 0 else "SUCCESSFUL"
        expected = "FAILED" if end == "FAILED" else ("INCOMPLETE" if i % 5 == 0 else "SUCCESSFUL")
        out.append(Plan(f"run-{i}", component, keys[component], batches, end, expected))
    return out


INCOMPLETE_RUNS = {f"run-{i}" for i in range(20) if i % 5 == 0}


def test_twenty_interleaved_pipelines_end_with_exactly_their_own_results(
    live: LiveServer,
) -> None:
    keys = {
        c: live.component(c, "library" if c.startswith("lib") else "application-component")
        for c in ("app-0", "app-2", "lib-1", "lib-3")
    }
    runs = plans(keys)

    def pipeline(i: int) -> list[tuple[str, int, str]]:
        plan = runs[i]
        log = []
        with live.client() as client:
            r = live.send_like_ci(client, ev.start(plan.pipeline_id, plan.component_id), plan.key)
            log.append(("start", r.status_code, r.text))
            assert r.status_code == 200, (plan.pipeline_id, r.status_code, r.text)
            # A pipeline's result events go out at once, racing each other for the build.
            with ThreadPoolExecutor(max_workers=len(plan.batches)) as pool:

                def send_batch(batch: list[dict[str, Any]]) -> tuple[str, int, str]:
                    with live.client() as c:
                        res = live.send_like_ci(c, ev.result(plan.pipeline_id, *batch), plan.key)
                    return "result", res.status_code, res.text

                log.extend(pool.map(send_batch, plan.batches))
            r = live.send_like_ci(client, ev.end(plan.pipeline_id, plan.end), plan.key)
            log.append(("end", r.status_code, r.text))
            assert r.status_code == 200, (plan.pipeline_id, r.status_code, r.text)
            assert r.json()["buildStatus"] == plan.expected, (plan, r.text)
        return log

    logs = together(20, pipeline)
    # SQLite under this load can keep a writer waiting past its busy timeout: those requests
    # were answered 503 and retried; the outcome must be exactly the same.
    print(f"503s retried: {live.retried_503}")
    for log in logs:
        assert all(code == 200 for _, code, _ in log), log

    for plan in runs:
        detail = live.detail(plan.component_id, plan.pipeline_id)
        sent = sorted(
            json.dumps({k: v for k, v in item.items() if k != "version"}, sort_keys=True)
            for batch in plan.batches
            for item in batch
        )
        stored = sorted(
            json.dumps({k: v for k, v in r.items() if k != "receivedAt"}, sort_keys=True)
            for r in detail["results"]
        )
        assert stored == sent, plan.pipeline_id
        assert detail["status"] == plan.expected, plan.pipeline_id
        assert detail["componentId"] == plan.component_id
        assert len(detail["events"]) == 2 + len(plan.batches)
        satisfied = all(r["satisfied"] for r in detail["requiredResults"])
        assert satisfied is (plan.pipeline_id not in INCOMPLETE_RUNS), plan.pipeline_id
    for component in keys:
        expected = sorted(p.pipeline_id for p in runs if p.component_id == component)
        assert sorted(b["pipelineId"] for b in live.history(component)) == expected


def test_concurrent_identical_results_are_stored_once(live: LiveServer) -> None:
    key = live.component("comp")
    with live.client() as client:
        assert live.send(client, ev.start("p1", "comp"), key).status_code == 200
    event = ev.result("p1", *ev.deployable())

    def send(_: int) -> int:
        with live.client() as client:
            return live.send_like_ci(client, event, key).status_code

    assert together(30, send) == [200] * 30
    detail = live.detail("comp", "p1")
    assert sorted(r["type"] for r in detail["results"]) == ["container", "git-revision", "helm"]
    assert [e["type"] for e in detail["events"]].count("codenow.ci.result.event") == 1


def test_concurrent_conflicting_ends_have_one_winner(live: LiveServer) -> None:
    key = live.component("comp")
    with live.client() as client:
        live.send(client, ev.start("p1", "comp"), key)
        live.send(client, ev.result("p1", *ev.deployable()), key)
    outcomes = ["SUCCESSFUL" if i % 2 else "FAILED" for i in range(20)]

    def end(i: int) -> tuple[str, int, dict[str, Any]]:
        with live.client() as client:
            r = live.send_like_ci(client, ev.end("p1", outcomes[i]), key)
            return outcomes[i], r.status_code, r.json()

    answers = together(20, end)
    winners = [(o, body) for o, code, body in answers if code == 200 and not body["duplicate"]]
    assert len(winners) == 1, answers
    winner = winners[0][0]
    for outcome, code, body in answers:
        if outcome == winner:
            assert code == 200, body
        else:
            assert code == 409, body
    status = live.detail("comp", "p1")["status"]
    assert status == winners[0][1]["buildStatus"] == winner
    assert len(live.detail("comp", "p1")["events"]) == 3


def test_results_racing_the_end_are_either_stored_or_refused(live: LiveServer) -> None:
    key = live.component("comp")
    with live.client() as client:
        live.send(client, ev.start("p1", "comp"), key)

    def send(i: int) -> tuple[int, int]:
        with live.client() as client:
            if i == 10:
                return i, live.send_like_ci(client, ev.end("p1", "FAILED"), key).status_code
            return i, live.send_like_ci(
                client, ev.result("p1", ev.git_tag(f"v{i}")), key
            ).status_code

    answers = together(20, send)
    assert all(code in (200, 409) for _, code in answers), answers
    accepted = {f"v{i}" for i, code in answers if code == 200 and i != 10}
    detail = live.detail("comp", "p1")
    assert {r["tag"] for r in detail["results"]} == accepted
    assert detail["status"] == "FAILED"
