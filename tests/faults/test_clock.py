"""Clock and inactivity (issue 9, item 7): a build silent past
EXTCI_BUILD_INACTIVITY_TIMEOUT reads as LOST; an event afterwards settles it as the contract
says; and nothing depends on clocks agreeing: ``lastEventAt`` (and so LOST) is each server's
own receive time, ``createdAt`` (the CI's clock) only labels the timeline, retries are
recognised whatever their ``createdAt``, and the status follows the order of arrival.

Two apps on one database stand for two servers, on one test clock (tests/support/fake_clock.py)
that the test advances past the default timeout (24 h) instead of waiting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.support import events as ev
from tests.support.api import Api
from tests.support.fake_clock import FakeClock

TIMEOUT = timedelta(hours=24)  # the default EXTCI_BUILD_INACTIVITY_TIMEOUT
PAST = "1970-01-02T00:00:00Z"
FUTURE = "2999-12-31T23:59:59+14:00"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def two_servers(settings: Settings, clock: FakeClock) -> Iterator[tuple[Api, Api]]:
    with ExitStack() as stack:
        apis = []
        for _ in range(2):
            app = create_app(settings, clock=clock)
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            stack.callback(app.state.runtime.close)
            apis.append(Api(client, app.state.runtime))
        yield apis[0], apis[1]


def detail(api: Api, headers: dict[str, str], pipeline_id: str) -> dict[str, Any]:
    r = api.client.get(f"/api/v1/components/clock/builds/{pipeline_id}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def sent(api: Api, event: dict[str, Any], key: str, status: str, duplicate: bool) -> None:
    r = api.send(event, key)
    assert r.status_code == 200, r.text
    assert r.json()["buildStatus"] == status, r.text
    assert r.json()["duplicate"] is duplicate, r.text


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_silent_builds_read_lost_and_later_events_settle_them_whatever_the_clocks(
    two_servers: tuple[Api, Api], clock: FakeClock
) -> None:
    a, b = two_servers
    a.component("clock")
    key = a.key("clock")
    viewer = a.token("viewer")

    before = clock.now()
    # Starts stamped by CI clocks far behind and far ahead, on server A.
    sent(a, ev.start("behind", "clock", createdAt=PAST), key, "BUILDING", False)
    sent(a, ev.start("ahead", "clock", createdAt=FUTURE), key, "BUILDING", False)
    sent(a, ev.start("resumed", "clock"), key, "BUILDING", False)
    after = clock.now()
    for pipeline_id in ("behind", "ahead", "resumed"):
        build = detail(b, viewer, pipeline_id)  # read through the other server
        assert build["status"] == "BUILDING"  # a CI clock far behind does not make it LOST
        # lastEventAt is the receiving server's clock, not the CI's createdAt.
        assert before <= parse(build["lastEventAt"]) <= after

    clock.advance(TIMEOUT + timedelta(seconds=1))
    # A CI clock far ahead does not keep a build alive: silence is measured by the server.
    history = b.client.get(
        "/api/v1/components/clock/builds", params={"status": "LOST"}, headers=viewer
    )
    assert history.status_code == 200, history.text
    assert {i["pipelineId"] for i in history.json()["items"]} == {"behind", "ahead", "resumed"}
    # A retried start says LOST and changes nothing, whatever its createdAt.
    sent(b, ev.start("ahead", "clock", createdAt=PAST), key, "LOST", True)

    # Events after the silence, on server B, settle each build as the contract says.
    sent(b, ev.end("behind", "FAILED") | {"createdAt": FUTURE}, key, "FAILED", False)
    sent(b, ev.end("ahead", "SUCCESSFUL") | {"createdAt": PAST}, key, "INCOMPLETE", False)
    sent(b, ev.result("resumed", *ev.deployable()), key, "BUILDING", False)  # back to life
    assert detail(a, viewer, "resumed")["status"] == "BUILDING"
    sent(a, ev.end("resumed", "SUCCESSFUL"), key, "SUCCESSFUL", False)

    # Retries from either server, with other createdAt stamps, are duplicates.
    sent(a, ev.end("ahead", "SUCCESSFUL") | {"createdAt": FUTURE}, key, "INCOMPLETE", True)
    sent(b, ev.end("resumed", "SUCCESSFUL") | {"createdAt": PAST}, key, "SUCCESSFUL", True)

    ahead = detail(a, viewer, "ahead")
    assert ahead["status"] == "INCOMPLETE"
    assert ahead["missingResults"]
    # An end stamped before its start (skewed clocks) reads as a zero duration, not negative.
    assert ahead["durationSeconds"] == 0
    assert detail(b, viewer, "behind")["status"] == "FAILED"
    # The status follows arrival; createdAt only labels the timeline.
    assert [e["type"] for e in detail(a, viewer, "ahead")["events"]] == [
        "codenow.ci.start.event",
        "codenow.ci.end.event",
    ]
