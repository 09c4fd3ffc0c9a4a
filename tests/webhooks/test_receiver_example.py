"""The documented receiver (examples/webhook-receiver/receiver.py) deploys what a
deployable build names, once, and refuses what extci did not sign."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import events as ev
from tests.support.api import Api
from tests.support.eventually import eventually
from tests.support.live import free_port

RECEIVER = Path(__file__).parents[2] / "examples" / "webhook-receiver" / "receiver.py"
DIGEST = "sha256:" + "ef" * 32


def test_the_example_receiver_deploys_a_deployable_build(hooked: Api, tmp_path: Path) -> None:
    api = hooked
    api.component()
    key = api.key()
    port = free_port()
    made = api.client.post(
        "/api/v1/components/orders-service/webhooks",
        json={"url": f"http://127.0.0.1:{port}/", "events": ["build.finished", "build.deployable"]},
        headers=api.token("editor", "ed"),
    )
    assert made.status_code == 201
    deployed = tmp_path / "deployed.txt"
    receiver = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port)],
        env={
            "WEBHOOK_SECRET": made.json()["secret"],
            "DEPLOY_COMMAND": (
                f'echo "$EXTCI_COMPONENT $EXTCI_IMAGE $EXTCI_CHART_VERSION" >> {deployed}'
            ),
            "PATH": "/usr/bin:/bin",
        },
    )
    try:
        for _ in range(100):  # until it listens
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)
        # A forged request is refused.
        forged = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            data=b'{"type":"build.deployable"}',
            headers={
                "webhook-id": "msg_x",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)  # noqa: S310
        assert refused.value.code == 401

        container = {**ev.artifact("container"), "digest": DIGEST}
        for event in (
            ev.start("p-1", "orders-service"),
            ev.result(
                "p-1", ev.git_revision(), container, ev.artifact("helm", "charts/orders", "2.1.0")
            ),
            ev.end("p-1"),
        ):
            assert api.send(event, key).status_code == 200
        text = eventually(
            lambda: deployed.read_text() if deployed.exists() else "", lambda t: bool(t)
        )
    finally:
        receiver.terminate()
        receiver.wait(10)
    assert text == (
        f"orders-service registry.example.org/team/orders-service:1.4.0@{DIGEST} 2.1.0\n"
    )
