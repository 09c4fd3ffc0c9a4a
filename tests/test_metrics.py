"""``GET /metrics``: what the webhook counts, bounded labels, the optional bearer token;
on SQLite and PostgreSQL through the app, and once against a live server process in
prometheus_client's multiprocess mode."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from extci import metrics
from extci.app import create_app
from extci.config import Settings
from tests.support import events as ev
from tests.support.api import Api
from tests.support.databases import PostgresDatabase, require_postgres
from tests.support.live import LiveServer
from tests.support.problems import problem

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_webhook_is_counted_with_bounded_labels(api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    before = samples(api.client.get("/metrics").text)
    for event in (
        ev.start("secret-pipeline-7", "orders-service"),
        ev.result("secret-pipeline-7", *ev.deployable()),
        ev.end("secret-pipeline-7"),
    ):
        assert api.send(event, key).status_code == 200
    assert api.send(ev.end("secret-pipeline-7"), key).json()["duplicate"]  # not counted twice
    assert api.send(ev.start("p2", "orders-service"), None).status_code == 401
    assert api.send(b"{not json", key).status_code == 400
    assert api.send(ev.end("nope"), key).status_code == 404
    r = api.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    after = samples(r.text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    events = "extci_webhook_events_total"
    assert delta(events, type="start", status="200") == 1
    assert delta(events, type="result", status="200") == 1
    assert delta(events, type="end", status="200") == 2
    assert delta(events, type="unknown", status="401") == 1
    assert delta(events, type="unknown", status="400") == 1
    assert delta(events, type="end", status="404") == 1
    assert delta("extci_webhook_latency_seconds_count") == 4  # the accepted ones
    assert delta("extci_webhook_latency_seconds_sum") > 0
    assert delta("extci_builds_finished_total", status="SUCCESSFUL") == 1
    # Defined for the outgoing webhooks, exposed as zeros until something delivers.
    for outcome in metrics.DELIVERY_OUTCOMES:
        assert ("extci_webhook_deliveries_total", (("outcome", outcome),)) in after
    assert ("extci_outbox_depth", ()) in after
    # Every label value is from a short fixed list: no pipeline or component ids.
    assert "secret-pipeline-7" not in r.text
    assert "orders-service" not in r.text
    label_names = {k for (_name, labels) in after for k, _v in labels}
    assert label_names <= {"type", "status", "outcome", "le", "implementation", "major",
                           "minor", "patchlevel", "version", "generation"}  # fmt: skip


@pytest.fixture
def guarded(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me-0123456789"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.runtime.close()


def test_the_token_guards_the_metrics(guarded: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        r = guarded.get("/metrics", headers=headers)
        problem(r, 401)
        assert r.headers["www-authenticate"] == 'Bearer realm="metrics"'
    ok = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert ok.status_code == 200
    assert "extci_webhook_events_total" in ok.text


def test_a_live_server_in_multiprocess_mode(tmp_path: Path) -> None:
    """The real process, as Prometheus scrapes it, with PROMETHEUS_MULTIPROC_DIR set (what
    several worker processes need): the counts come from the shared directory."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "EXTCI_METRICS_TOKEN": "t0ken-for-scrapes"}
    server = LiveServer(tmp_path / "server", extra_env=env).start()
    try:
        key = server.external_component("orders-service")
        headers = {"Content-Type": ev.V1, "X-Codenow-Api-Key": key}
        for event in (ev.start("p1", "orders-service"), ev.end("p1", "FAILED")):
            req = urllib.request.Request(  # noqa: S310 - a local URL
                server.url + "/ci/webhook", data=_json(event), headers=headers, method="POST"
            )
            with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310
                assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/metrics", timeout=10)  # noqa: S310
        assert refused.value.code == 401
        refused.value.close()
        scrape = urllib.request.Request(  # noqa: S310
            server.url + "/metrics", headers={"Authorization": "Bearer t0ken-for-scrapes"}
        )
        with urllib.request.urlopen(scrape, timeout=10) as answer:  # noqa: S310
            found = samples(answer.read().decode())
    finally:
        server.stop()
    assert value(found, "extci_webhook_events_total", type="start", status="200") == 1
    assert value(found, "extci_builds_finished_total", status="FAILED") == 1
    assert value(found, "extci_webhook_latency_seconds_count") == 2
    assert list(shared.glob("*.db"))  # the values lived in the shared directory


def _json(event: object) -> bytes:
    return json.dumps(event).encode()


@pytest.mark.postgres
def test_two_workers_report_the_same_totals(tmp_path: Path) -> None:
    """``extci serve --workers 2`` on PostgreSQL: every scrape, whichever worker answers it,
    counts every event (the workers share a PROMETHEUS_MULTIPROC_DIR serve made for them)."""
    require_postgres()
    database = PostgresDatabase()
    env = {"EXTCI_WORKERS": "2", "EXTCI_RATE_LIMIT_PER_MINUTE": "100000"}
    server = LiveServer(tmp_path / "server", extra_env=env, database_url=database.empty())
    try:
        server.start()
        key = server.external_component("orders-service")
        headers = {"Content-Type": ev.V1, "X-Codenow-Api-Key": key}
        for n in range(12):  # new connections: both workers get some of them
            req = urllib.request.Request(  # noqa: S310 - a local URL
                server.url + "/ci/webhook",
                data=_json(ev.start(f"p{n}", "orders-service")),
                headers=headers,
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310
                assert answer.status == 200
        for _ in range(6):
            with urllib.request.urlopen(server.url + "/metrics", timeout=10) as answer:  # noqa: S310
                found = samples(answer.read().decode())
            assert value(found, "extci_webhook_events_total", type="start", status="200") == 12
    finally:
        server.stop()
        database.drop()
