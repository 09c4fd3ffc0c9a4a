"""Two servers, one PostgreSQL (issue 9, item 6): identical and conflicting events split
across two ``extci serve`` processes at the same moment give exactly what one server gives;
the per-key rate limit holds across both; a page open on either hears of an event received
by the other (server-sent events over LISTEN/NOTIFY).

Small numbers: 12 pipelines of five concurrent pairs each, a budget of 10 requests."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
from collections import Counter
from typing import Any

import httpx2 as httpx
import pytest

from tests.faults.conftest import Servers
from tests.faults.support import NO_RATE_LIMIT, Store, headers_for
from tests.support import events as ev
from tests.support.live import LiveServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PIPELINES = 12
END_STATUS = {"SUCCESSFUL": "SUCCESSFUL", "FAILED": "FAILED", "CANCELED": "CANCELLED"}


def pairs(pipeline_id: str, component_id: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Steps of one run; each step is two events sent at the same moment, one per server."""
    return [
        ("same start", ev.start(pipeline_id, component_id), ev.start(pipeline_id, component_id)),
        (
            "same results",
            ev.result(pipeline_id, *ev.deployable()),
            ev.result(pipeline_id, *ev.deployable()),
        ),
        (
            "overlapping results",
            ev.result(pipeline_id, ev.link(), ev.git_tag()),
            ev.result(pipeline_id, ev.git_tag(), ev.link(name="other")),
        ),
        (
            "other start",
            ev.start(pipeline_id, component_id, version="9.9.9"),
            ev.start(pipeline_id, component_id, version="8.8.8"),
        ),
        ("other ends", ev.end(pipeline_id, "SUCCESSFUL"), ev.end(pipeline_id, "FAILED")),
    ]


async def run_pairs(
    first: LiveServer, second: LiveServer, key: str, component_id: str
) -> tuple[Counter[str], dict[str, str]]:
    """Send every pair, the first event to ``first`` and the second to ``second`` at once;
    return a tally of the answers per step and, per pipeline, the end that won."""
    tally: Counter[str] = Counter()
    winners: dict[str, str] = {}
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=30) as a,
        httpx.AsyncClient(base_url=second.url, timeout=30) as b,
    ):

        async def run(n: int) -> None:
            pipeline_id = f"{component_id}-{n}"
            for step, one, other in pairs(pipeline_id, component_id):
                answers = await asyncio.gather(
                    a.post("/ci/webhook", content=json.dumps(one), headers=headers_for(key)),
                    b.post("/ci/webhook", content=json.dumps(other), headers=headers_for(key)),
                )
                shape = sorted(
                    f"{r.status_code}"
                    + (f" duplicate={r.json()['duplicate']}" if r.status_code == 200 else "")
                    for r in answers
                )
                tally[f"{step}: {shape}"] += 1
                if step == "other ends":
                    won = [e for e, r in zip((one, other), answers, strict=True) if r.is_success]
                    winners[pipeline_id] = won[0]["result"] if len(won) == 1 else "?"

        await asyncio.gather(*(run(n) for n in range(PIPELINES)))
    return tally, winners


def stored_shape(server: LiveServer, component_id: str, winners: dict[str, str]) -> Counter[str]:
    shape: Counter[str] = Counter()
    for pipeline_id, build in Store(server.database_url).builds(component_id).items():
        won = winners[pipeline_id]
        assert build.status == END_STATUS.get(won, "?"), (build, won)
        shape[f"{build.results} results, timeline {list(build.timeline)}"] += 1
    assert sum(shape.values()) == PIPELINES
    return shape


def test_events_split_across_two_servers_give_what_one_server_gives(
    servers: Servers, postgres_url: str
) -> None:
    a = servers.on(postgres_url, "a", **NO_RATE_LIMIT)
    b = servers.on(postgres_url, "b", **NO_RATE_LIMIT)
    one_key = a.external_component("one")
    two_key = a.external_component("two")

    one_tally, one_winners = asyncio.run(run_pairs(a, a, one_key, "one"))
    two_tally, two_winners = asyncio.run(run_pairs(a, b, two_key, "two"))
    print(f"\none server:  {dict(one_tally)}\ntwo servers: {dict(two_tally)}")
    assert two_tally == one_tally
    assert stored_shape(b, "two", two_winners) == stored_shape(a, "one", one_winners)
    # And what one server gives is the contract (ci-events.md §4).
    assert one_tally == Counter(
        {
            "same start: ['200 duplicate=False', '200 duplicate=True']": PIPELINES,
            "same results: ['200 duplicate=False', '200 duplicate=True']": PIPELINES,
            "overlapping results: ['200 duplicate=False', '200 duplicate=False']": PIPELINES,
            "other start: ['409', '409']": PIPELINES,
            "other ends: ['200 duplicate=False', '409']": PIPELINES,
        }
    )


def test_the_rate_limit_holds_across_two_servers(servers: Servers, postgres_url: str) -> None:
    budget = 10
    a = servers.on(postgres_url, "a", EXTCI_RATE_LIMIT_PER_MINUTE=str(budget))
    b = servers.on(postgres_url, "b", EXTCI_RATE_LIMIT_PER_MINUTE=str(budget))
    key = a.external_component("limited")

    async def main() -> list[httpx.Response]:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as ca,
            httpx.AsyncClient(base_url=b.url, timeout=30) as cb,
        ):
            return await asyncio.gather(
                *(
                    (ca, cb)[n % 2].post(
                        "/ci/webhook",
                        content=json.dumps(ev.start(f"limited-{n}", "limited")),
                        headers=headers_for(key),
                    )
                    for n in range(3 * budget)
                )
            )

    answers = asyncio.run(main())
    codes = Counter(r.status_code for r in answers)
    print(f"\nrate limit {budget}/min across two servers: {dict(codes)}")
    assert codes == {200: budget, 429: 2 * budget}
    assert all(r.headers["retry-after"].isdigit() for r in answers if r.status_code == 429)
    assert len(Store(a.database_url).builds("limited")) == budget


def _session_cookies(server: LiveServer) -> httpx.Cookies:
    """Sign in to the web UI as the test admin, as a browser does."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        form = client.get("/sign-in")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match, form.text
        r = client.post(
            "/sign-in",
            data={
                "username": "tester",
                "password": "correct horse battery",
                "csrf_token": match.group(1),
            },
        )
        assert r.status_code == 303, r.text
        return client.cookies


def _listen(server: LiveServer, component_id: str, heard: queue.Queue[str]) -> None:
    """Read the component's live stream (server-sent events) into ``heard``, one
    ``event: data`` string per event, until the stream ends (the server stops)."""
    cookies = _session_cookies(server)
    try:
        with (
            httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as client,
            client.stream("GET", f"/components/{component_id}/live") as stream,
        ):
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    heard.put(f"{event} {line.removeprefix('data:').strip()}")
    except httpx.TransportError:
        heard.put("closed")


def test_live_updates_reach_pages_on_either_server(servers: Servers, postgres_url: str) -> None:
    # Open live streams hold a stopping server for its whole grace period: keep it short.
    quick = {"EXTCI_SHUTDOWN_GRACE_PERIOD": "1s", **NO_RATE_LIMIT}
    a = servers.on(postgres_url, "a", **quick)
    b = servers.on(postgres_url, "b", **quick)
    key = a.external_component("live")
    for receiver, page in ((a, b), (b, a)):
        heard: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_listen, args=(page, "live", heard), daemon=True).start()
        assert heard.get(timeout=15).startswith("ready")  # LISTEN is up on the page's server
        pipeline_id = f"from-{receiver.port}"
        r = httpx.post(
            receiver.url + "/ci/webhook",
            json=ev.start(pipeline_id, "live"),
            headers=headers_for(key),
            timeout=10,
        )
        assert r.status_code == 200, r.text
        event, _, data = heard.get(timeout=10).partition(" ")
        assert event == "build"
        assert json.loads(data) == {
            "componentId": "live",
            "pipelineId": pipeline_id,
            "status": "BUILDING",
        }
