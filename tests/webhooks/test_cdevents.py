"""CDEvents out: what a CDEvents subscription receives validates against the CDEvents
0.4.1 schemas, in CloudEvents binary and structured HTTP mode, with purl subject ids."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from tests.support import events as ev
from tests.support.api import Api
from tests.support.receiver import Received, receiver
from tests.webhooks.cdevents_schemas import SCHEMAS
from tests.webhooks.verify import openssl_verifies

DIGEST = "sha256:" + "ab" * 32
CHART_DIGEST = "sha256:" + "cd" * 32
ALL = ["build.started", "build.finished", "build.deployable"]
PURL = re.compile(r"^pkg:[a-z]+/[^@?#]+(@[^?#]+)?(\?[^#]+)?$")


def validate(event: dict[str, Any]) -> str:
    cdevent_type: str = event["context"]["type"]
    jsonschema_rs.validator_for(SCHEMAS[cdevent_type], validate_formats=True).validate(event)
    return cdevent_type


def cdevent_of(got: Received, mode: str) -> dict[str, Any]:
    """The CDEvent in one request, after checking its CloudEvents envelope."""
    parsed = from_http_event(HTTPMessage(dict(got.headers), got.body))  # the SDK reads it back
    assert parsed.get_specversion() == "1.0"
    if mode == "binary":
        assert got.headers["content-type"] == "application/json"
        assert got.headers["ce-specversion"] == "1.0"
        event: dict[str, Any] = json.loads(got.body)
        assert got.headers["ce-type"] == event["context"]["type"]
        assert got.headers["ce-id"] == event["context"]["id"]
        assert got.headers["ce-source"] == event["context"]["source"]
    else:
        assert got.headers["content-type"].startswith("application/cloudevents+json")
        envelope = json.loads(got.body)
        assert envelope["specversion"] == "1.0"
        assert envelope["datacontenttype"] == "application/json"
        event = envelope["data"]
        assert envelope["type"] == event["context"]["type"]
        assert envelope["id"] == event["context"]["id"]
    assert parsed.get_type() == event["context"]["type"]
    assert event["context"]["version"] == "0.4.1"
    return event


def subscribe(api: Api, component_id: str, url: str, fmt: str) -> str:
    made = api.client.post(
        f"/api/v1/components/{component_id}/webhooks",
        json={"url": url, "events": ALL, "format": fmt},
        headers=api.token("editor", f"editor-{component_id}"),
    )
    assert made.status_code == 201, made.text
    secret: str = made.json()["secret"]
    return secret


def send_all(api: Api, key: str, *events: dict[str, Any]) -> None:
    for event in events:
        assert api.send(event, key).status_code == 200


def test_an_application_build_as_cdevents_in_binary_mode(hooked: Api) -> None:
    api = hooked
    api.component()
    key = api.key()
    container = {**ev.artifact("container"), "digest": DIGEST}
    chart = {**ev.artifact("helm", "charts/orders-service", "2.1.0"), "digest": CHART_DIGEST}
    with receiver() as hook:
        secret = subscribe(api, "orders-service", hook.url, "cdevents-binary")
        send_all(
            api,
            key,
            ev.start("orders-9", "orders-service"),
            ev.result("orders-9", ev.git_revision(sha="9f2c1e7a5b"), container, chart),
            ev.end("orders-9"),
        )
        got = hook.wait_for(6)
    events = [cdevent_of(r, "binary") for r in got]
    assert [validate(e) for e in events] == [
        "dev.cdevents.build.started.0.2.0",
        "dev.cdevents.build.finished.0.2.0",
        "dev.cdevents.artifact.packaged.0.2.0",
        "dev.cdevents.artifact.published.0.2.0",
        "dev.cdevents.artifact.packaged.0.2.0",
        "dev.cdevents.artifact.published.0.2.0",
    ]
    image = (
        f"pkg:oci/orders-service@{DIGEST}"
        "?repository_url=registry.example.org/team/orders-service&tag=1.4.0"
    )
    chart_purl = (
        f"pkg:oci/orders-service@{CHART_DIGEST}"
        "?repository_url=registry.example.org/team/charts/orders-service&tag=2.1.0"
    )
    assert events[0]["subject"]["id"] == "orders-service/orders-9"
    assert events[1]["subject"]["content"] == {"artifactId": image}
    assert events[1]["customData"]["status"] == "SUCCESSFUL"
    assert [e["subject"]["id"] for e in events[2:]] == [image, image, chart_purl, chart_purl]
    assert events[2]["subject"]["content"] == {"change": {"id": "9f2c1e7a5b"}}
    assert all(openssl_verifies(secret, r.headers, r.body) for r in got)  # signed as well


def test_a_library_build_as_cdevents_in_structured_mode(hooked: Api) -> None:
    api = hooked
    api.component("orders-lib", "library")
    key = api.key("orders-lib")
    with receiver() as hook:
        subscribe(api, "orders-lib", hook.url, "cdevents-structured")
        send_all(
            api,
            key,
            ev.start("lib-1", "orders-lib", "3.0.1"),
            ev.result(
                "lib-1",
                ev.git_tag("v3.0.1"),
                ev.artifact("maven", "org.example:orders-lib", "3.0.1"),
                ev.artifact("npm", "@acme/orders-lib", "3.0.1"),
                ev.artifact("nuget", "Acme.Orders", "3.0.1"),
            ),
            ev.end("lib-1"),
        )
        got = hook.wait_for(8)
    events = [cdevent_of(r, "structured") for r in got]
    for e in events:
        validate(e)
    published = [
        e["subject"]["id"]
        for e in events
        if e["context"]["type"] == "dev.cdevents.artifact.published.0.2.0"
    ]
    assert published == [
        "pkg:maven/org.example/orders-lib@3.0.1?repository_url=registry.example.org/team",
        "pkg:npm/%40acme/orders-lib@3.0.1?repository_url=registry.example.org/team",
        "pkg:nuget/Acme.Orders@3.0.1?repository_url=registry.example.org/team",
    ]
    assert all(PURL.match(p) for p in published)
    packaged = [e for e in events if e["context"]["type"].startswith("dev.cdevents.artifact.pack")]
    assert {e["subject"]["content"]["change"]["id"] for e in packaged} == {"v3.0.1"}
    assert events[1]["subject"]["content"]["artifactId"].startswith("pkg:maven/org.example/")


def test_the_schemas_refuse_what_they_should() -> None:
    """The test data is strict enough to catch a malformed event."""
    good = {
        "context": {
            "version": "0.4.1",
            "id": "msg_1",
            "source": "https://extci.example.org/components/x",
            "type": "dev.cdevents.build.started.0.2.0",
            "timestamp": "2026-12-01T10:00:00Z",
        },
        "subject": {"id": "x/1", "type": "build", "content": {}},
    }
    schema = SCHEMAS["dev.cdevents.build.started.0.2.0"]
    assert jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(good)
    for broken in (
        {**good, "extra": 1},
        {**good, "subject": {**good["subject"], "type": "artifact"}},
        {**good, "subject": {**good["subject"], "content": {"artifactId": "x"}}},
        {**good, "context": {**good["context"], "timestamp": "yesterday"}},
        {"subject": good["subject"]},
    ):
        assert not jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(broken)
