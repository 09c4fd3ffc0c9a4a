"""Webhook deliveries end to end through the app: subscribe over the API, send CI events,
receive signed POSTs on a real HTTP server on 127.0.0.1, read the delivery log."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from extci import metrics
from extci.db import unit_of_work
from extci.webhooks import observe
from extci.webhooks.models import WebhookDelivery
from tests.support import events as ev
from tests.support import factories
from tests.support.api import Api
from tests.support.eventually import eventually
from tests.support.receiver import receiver
from tests.webhooks.conftest import MakeApi
from tests.webhooks.verify import openssl_verifies, well_formed

ALL = ["build.started", "build.finished", "build.deployable"]


def who(api: Api, role: str) -> dict[str, str]:
    """A user of that role's token header, made once per app."""
    tokens: dict[str, dict[str, str]] = api.__dict__.setdefault("_tokens", {})
    if role not in tokens:
        tokens[role] = api.token(role, f"{role}-user")
    return tokens[role]


def subscribe(api: Api, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    made = api.client.post(
        "/api/v1/components/orders-service/webhooks",
        json={"url": url, "events": events, **extra},
        headers=who(api, "editor"),
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def deliveries(api: Api, subscription_id: int) -> list[dict[str, Any]]:
    page = api.client.get(
        f"/api/v1/webhooks/{subscription_id}/deliveries", headers=who(api, "viewer")
    )
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def run_build(api: Api, key: str, pipeline_id: str, outcome: str = "SUCCESSFUL") -> None:
    for event in (
        ev.start(pipeline_id, "orders-service"),
        ev.result(pipeline_id, *ev.deployable()),
        ev.end(pipeline_id, outcome),
    ):
        assert api.send(event, key).status_code == 200


def delivered_count() -> float:
    sample = metrics.REGISTRY.get_sample_value(
        "extci_webhook_deliveries_total", {"outcome": "delivered"}
    )
    return sample or 0.0


def test_a_build_is_delivered_signed_in_order_and_logged(hooked: Api) -> None:
    api = hooked
    counted_before = delivered_count()
    api.component()
    key = api.key()
    with receiver() as hook:
        sub = subscribe(api, hook.url + "/extci?team=orders", ALL, description="deploy bot")
        secret = sub["secret"]
        assert secret.startswith("whsec_")
        assert sub["secretHint"].endswith(secret[-4:])
        run_build(api, key, "orders-1")
        got = hook.wait_for(3)

    # In the order the build caused them; each signed so an independent verifier agrees.
    bodies = [json.loads(r.body) for r in got]
    assert [b["type"] for b in bodies] == ALL
    for r in got:
        assert r.path == "/extci?team=orders"
        assert r.headers["content-type"] == "application/json"
        assert openssl_verifies(secret, r.headers, r.body)
        assert well_formed(secret, r.headers)
        assert not openssl_verifies(secret, r.headers, r.body + b" ")
    assert len({r.headers["webhook-id"] for r in got}) == 3
    finished = bodies[1]["data"]
    assert finished["status"] == "SUCCESSFUL"
    assert finished["componentId"] == "orders-service"
    assert finished["pipelineId"] == "orders-1"
    assert {x["type"] for x in finished["results"]} == {"git-revision", "container", "helm"}
    assert bodies[0]["data"]["status"] == "BUILDING"

    # The secret is shown once: never in a listing, a subscription or the log.
    listing = api.client.get(
        "/api/v1/components/orders-service/webhooks", headers=who(api, "viewer")
    )
    assert secret not in listing.text
    assert secret[6:] not in listing.text
    [item] = listing.json()["items"]
    assert item["failedDeliveries"] == 0
    assert "secret" not in item

    # The log: each attempt's time, status, latency and the first KB of the answer.
    log = eventually(lambda: deliveries(api, sub["id"]), lambda d: d[0]["state"] == "DELIVERED")
    assert [d["event"] for d in log] == list(reversed(ALL))  # newest first
    assert all(d["state"] == "DELIVERED" for d in log)
    [attempt] = log[0]["attempts"]
    assert attempt["ok"] is True
    assert attempt["statusCode"] == 200
    assert attempt["latencyMs"] >= 0
    assert '"received"' in attempt["response"]
    assert log[0]["messageId"] == got[2].headers["webhook-id"]
    assert delivered_count() - counted_before >= 3  # /metrics counts them


def test_only_what_was_subscribed_and_a_failed_build_is_not_deployable(hooked: Api) -> None:
    api = hooked
    api.component()
    key = api.key()
    with receiver() as hook:
        subscribe(api, hook.url, ["build.finished", "build.deployable"])
        run_build(api, key, "orders-2", "FAILED")
        [got] = hook.wait_for(1)
        time.sleep(0.3)  # nothing else comes
        assert len(hook.requests) == 1
    body = json.loads(got.body)
    assert body["type"] == "build.finished"
    assert body["data"]["status"] == "FAILED"


def test_failures_are_retried_with_backoff_and_the_build_keeps_its_order(hooked: Api) -> None:
    api = hooked
    api.component()
    key = api.key()
    with receiver() as hook:
        hook.answers = [500, 503]  # the first two attempts fail
        sub = subscribe(api, hook.url, ["build.started", "build.finished"])
        run_build(api, key, "orders-3")
        got = hook.wait_for(4)
    types = [json.loads(r.body)["type"] for r in got]
    # The finish waits until the start got through, however it fared before.
    assert types == ["build.started"] * 3 + ["build.finished"]
    assert len({r.headers["webhook-id"] for r in got[:3]}) == 1  # one message, retried
    gaps = [b.at - a.at for a, b in itertools.pairwise(got[:3])]
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2
    log = eventually(lambda: deliveries(api, sub["id"]), lambda d: len(d) == 2)
    start = log[1]
    assert start["attemptCount"] == 3
    assert [a["statusCode"] for a in start["attempts"]] == [200, 503, 500]  # newest first
    assert [a["ok"] for a in start["attempts"]] == [True, False, False]


def test_a_delivery_given_up_on_shows_and_can_be_redelivered(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[str] = []  # what the metrics hook hears
    monkeypatch.setattr(observe, "delivery_attempted", outcomes.append)
    api = make_api(webhook_retry_for="1s")
    api.component()
    key = api.key()
    with receiver() as hook:
        hook.answers = [500] * 100
        sub = subscribe(api, hook.url, ["build.started"])
        assert api.send(ev.start("orders-4", "orders-service"), key).status_code == 200
        editor = who(api, "editor")
        log = eventually(
            lambda: deliveries(api, sub["id"]), lambda d: d[0]["state"] == "FAILED", within=10
        )
        failed = log[0]
        assert failed["attemptCount"] >= 2
        assert failed["lastStatus"] == 500
        listing = api.client.get("/api/v1/components/orders-service/webhooks", headers=editor)
        assert listing.json()["items"][0]["failedDeliveries"] == 1

        hook.answers = []  # the receiver is fixed: a person redelivers
        before = len(hook.requests)
        again = api.client.post(
            f"/api/v1/webhooks/{sub['id']}/deliveries/{failed['id']}/redeliver", headers=editor
        )
        assert again.status_code == 202, again.text
        got = hook.wait_for(before + 1)
    assert got[-1].headers["webhook-id"] == failed["messageId"]  # the same message
    log = eventually(lambda: deliveries(api, sub["id"]), lambda d: d[0]["state"] == "DELIVERED")
    assert log[0]["attempts"][0]["statusCode"] == 200
    assert outcomes[0] == "failed"
    assert outcomes[-2:] == ["abandoned", "delivered"]
    assert set(outcomes) <= set(observe.DELIVERY_OUTCOMES)
    missing = api.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/999999/redeliver", headers=editor
    )
    assert missing.status_code == 404


def test_private_targets_are_refused_unless_allowed(make_api: MakeApi) -> None:
    api = make_api(webhook_allow_private=False)
    api.component()
    key = api.key()
    editor = who(api, "editor")
    path = "/api/v1/components/orders-service/webhooks"
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://hooks.example.org/",
        "http://user:pw@hooks.example.org/",
    ):
        refused = api.client.post(path, json={"url": url, "events": ALL}, headers=editor)
        assert refused.status_code == 400, (url, refused.text)
        assert refused.json()["errors"][0]["pointer"] == "/url"
    with receiver() as hook:
        # Made while private targets were allowed (or a name that resolves to one): the
        # sender checks the address it connects to, every time.
        sub_id, _ = factories.make_webhook(
            api.runtime.sessions, api.secret, "orders-service", url=hook.url
        )
        assert api.send(ev.start("orders-5", "orders-service"), key).status_code == 200
        log = eventually(
            lambda: deliveries(api, sub_id), lambda d: bool(d) and d[0]["attemptCount"] >= 1
        )
        assert hook.requests == []
    attempt = log[0]["attempts"][-1]
    assert attempt["statusCode"] is None
    assert attempt["error"].startswith("refused")


def test_components_without_subscriptions_write_no_deliveries(hooked: Api) -> None:
    api = hooked
    api.component()
    api.component("billing")
    key = api.key()
    with receiver() as hook:
        other = api.client.post(
            "/api/v1/components/billing/webhooks",
            json={"url": hook.url, "events": ALL},
            headers=who(api, "editor"),
        )
        assert other.status_code == 201
        run_build(api, key, "orders-6")
        with unit_of_work(api.runtime.sessions) as session:
            count = session.execute(select(func.count()).select_from(WebhookDelivery))
            assert count.scalar_one() == 0
        assert hook.requests == []


def test_an_installation_wide_subscription_sees_every_component(hooked: Api) -> None:
    api = hooked
    api.component()
    key = api.key()
    admin = who(api, "admin")
    with receiver() as hook:
        made = api.client.post(
            "/api/v1/webhooks",
            json={"url": hook.url, "events": ["build.deployable"]},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        editor_try = api.client.post(
            "/api/v1/webhooks",
            json={"url": hook.url, "events": ["build.deployable"]},
            headers=who(api, "editor"),
        )
        assert editor_try.status_code == 403
        run_build(api, key, "orders-7")
        [got] = hook.wait_for(1)
    assert json.loads(got.body)["type"] == "build.deployable"
    listed = api.client.get("/api/v1/webhooks", headers=admin).json()["items"]
    assert [s["componentId"] for s in listed] == [None]
    gone = api.client.delete(f"/api/v1/webhooks/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204
