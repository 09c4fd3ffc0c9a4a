"""End to end, as a new user would: the real server process, the CLI, plain HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support import events as ev
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow


def post_event(server: LiveServer, key: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(  # noqa: S310 - loopback URL
        f"{server.url}/ci/webhook",
        data=json.dumps(event).encode(),
        method="POST",
        headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


def test_whole_deployable_run_then_an_incomplete_one(live_server: LiveServer) -> None:
    key = live_server.external_component("orders-service")
    assert key.startswith("extci_ci_")

    # CI key as the §9 example sends it: start, one result event, end.
    assert post_event(live_server, key, ev.start("orders-1842", "orders-service"))[0] == 200
    status, body = post_event(live_server, key, ev.result("orders-1842", *ev.deployable()))
    assert status == 200, body
    status, body = post_event(live_server, key, ev.end("orders-1842"))
    assert (status, body["buildStatus"]) == (200, "SUCCESSFUL")

    # The same run without the helm chart.
    post_event(live_server, key, ev.start("orders-1843", "orders-service", "1.4.1"))
    post_event(
        live_server, key, ev.result("orders-1843", ev.git_revision(), ev.artifact("container"))
    )
    assert post_event(live_server, key, ev.end("orders-1843"))[1]["buildStatus"] == "INCOMPLETE"

    # What the CLI prints, newest first.
    listing = live_server.cli("builds", "list", "orders-service").splitlines()
    assert listing[0].split()[:3] == ["PIPELINE", "ID", "VERSION"]
    assert listing[1].split()[:3] == ["orders-1843", "1.4.1", "INCOMPLETE"]
    assert listing[1].rstrip().endswith("helm")
    assert listing[2].split()[:3] == ["orders-1842", "1.4.0", "SUCCESSFUL"]

    # And what the API says.
    assert [b["status"] for b in live_server.builds("orders-service")] == [
        "INCOMPLETE",
        "SUCCESSFUL",
    ]
    assert live_server.build("orders-service", "orders-1843")["missingResults"] == ["helm"]

    # A CI key never opens the management API.
    req = urllib.request.Request(  # noqa: S310
        f"{live_server.url}/api/v1/components", headers={"Authorization": f"Bearer {key}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)  # noqa: S310
    refused.value.close()
    assert refused.value.code == 401
