"""Responses (ci-events.md §1, §2, §6, §7): the success body, problem+json with JSON
pointers, 400/413/415/429/503, and rate-limit headers on every authenticated response."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.ingest.conftest import (
    MakeApi,
    assert_rate_headers,
    build_detail,
    delete_pointer,
    history,
    set_pointer,
)
from tests.support import events as ev
from tests.support.api import SECRET, Api
from tests.support.databases import SQLiteTemplate
from tests.support.fake_clock import FakeClock
from tests.support.problems import pointers, problem

V1 = ev.V1


@pytest.fixture
def key(api: Api) -> str:
    api.component("comp")
    return api.key("comp")


@pytest.fixture
def running(api: Api, key: str) -> str:
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    return key


# ---- success ---------------------------------------------------------------------------------


def test_success_body_of_each_event_kind(api: Api, key: str) -> None:
    for event, status in [
        (ev.start("p1", "comp"), "BUILDING"),
        (ev.result("p1", *ev.deployable()), "BUILDING"),
        (ev.end("p1"), "SUCCESSFUL"),
    ]:
        r = api.send(event, key)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "pipelineId": "p1",
            "componentId": "comp",
            "buildStatus": status,
            "duplicate": False,
        }


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (V1, V1),
        ("application/json", "application/json"),
        ("*/*", None),
        (None, None),
    ],
)
def test_accepted_accept_headers(
    api: Api, key: str, accept: str | None, media_type: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        api.client.headers.pop("accept", None)
    r = api.client.post(
        "/ci/webhook",
        content=json.dumps(ev.start("p1", "comp")),
        headers={"Content-Type": V1, "X-Codenow-Api-Key": key, **headers},
    )
    assert r.status_code == 200, r.text
    got = r.headers["content-type"].split(";")[0]
    assert got in ((media_type,) if media_type else (V1, "application/json"))
    assert r.json()["buildStatus"] == "BUILDING"


@pytest.mark.parametrize(
    "content_type",
    [V1, "application/json", "application/json; charset=utf-8", f"{V1}; charset=UTF-8"],
)
def test_accepted_content_types(api: Api, key: str, content_type: str) -> None:
    r = api.send(ev.start("p1", "comp"), key, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/vnd.codenow.v2+json",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_unsupported_content_type_is_415(api: Api, key: str, content_type: str) -> None:
    r = api.send(ev.start("p1", "comp"), key, headers={"Content-Type": content_type})
    problem(r, 415)
    assert_rate_headers(r)
    assert history(api, "comp") == []


def test_success_is_durable(api: Api, key: str, make_api: MakeApi) -> None:
    """Answered 200 only after the commit: another app on the same database sees it."""
    api.send(ev.start("p1", "comp"), key)
    assert build_detail(make_api(), "comp", "p1")["status"] == "BUILDING"


# ---- 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b'{"type": "codenow.ci.start.event",}', b"\xff\xfe{}", b"{'a': 1}"],
)
def test_body_that_is_not_json_is_400(api: Api, key: str, body: bytes) -> None:
    problem(api.send(body, key), 400)


@pytest.mark.parametrize("body", [b"[]", b'"start"', b"42", b"null", b"true", b"[{}]"])
def test_body_that_is_not_an_object_is_400(api: Api, key: str, body: bytes) -> None:
    problem(api.send(body, key), 400)


@pytest.mark.parametrize(
    "type_", ["codenow.ci.build.event", "start", "", "CODENOW.CI.START.EVENT", None, 1]
)
def test_unknown_event_type_is_400_pointing_at_type(api: Api, key: str, type_: Any) -> None:
    r = api.send({**ev.start("p1", "comp"), "type": type_}, key)
    assert pointers(problem(r, 400)) == ["/type"]


def test_missing_event_type_is_400_pointing_at_type(api: Api, key: str) -> None:
    event = ev.start("p1", "comp")
    del event["type"]
    assert pointers(problem(api.send(event, key), 400)) == ["/type"]


START = ev.start("p1", "comp")
RESULT = ev.result("p1", ev.git_revision(), ev.git_revision())
END = ev.end("p1")
REQUIRED = [
    (START, "/version"),
    (START, "/pipelineId"),
    (START, "/componentId"),
    (START, "/buildVersion"),
    (START, "/actor/username"),
    (RESULT, "/version"),
    (RESULT, "/pipelineId"),
    (RESULT, "/payload"),
    (RESULT, "/payload/1/commitSha"),
    (RESULT, "/payload/1/type"),
    (RESULT, "/payload/0/version"),
    (END, "/version"),
    (END, "/pipelineId"),
    (END, "/result"),
]


@pytest.mark.parametrize(
    ("event", "pointer"), REQUIRED, ids=lambda v: v if isinstance(v, str) else v["type"]
)
def test_missing_required_field_is_400_with_its_pointer(
    api: Api, running: str, event: dict[str, Any], pointer: str
) -> None:
    r = api.send(delete_pointer(json.loads(json.dumps(event)), pointer), running)
    body = problem(r, 400)
    assert body["errors"] == [{"pointer": pointer, "detail": "field required"}]


INVALID = [
    (START, "/version", "application/vnd.codenow.v2+json"),
    (START, "/version", "v1"),
    (START, "/pipelineId", ""),
    (START, "/pipelineId", 1842),
    (START, "/componentId", ""),
    (START, "/componentId", None),
    (START, "/buildVersion", ""),
    (START, "/buildVersion", 1.4),
    (START, "/actor", "jdoe"),
    (START, "/actor/username", ""),
    (START, "/actor/username", None),
    (START, "/actor/fullname", 7),
    (START, "/pipelineName", ["x"]),
    (START, "/dashboardUrl", "not a url"),
    (START, "/dashboardUrl", "javascript:alert(1)"),
    (START, "/createdAt", "yesterday"),
    (START, "/createdAt", "2026-01-01T10:00:00"),
    (START, "/createdAt", 1767261600),
    (RESULT, "/payload", []),
    (RESULT, "/payload", {"type": "git-tag"}),
    (RESULT, "/payload/1", "git-tag"),
    (RESULT, "/payload/1/type", "svn-revision"),
    (RESULT, "/payload/1/version", "v2"),
    (RESULT, "/payload/1/branch", ""),
    (RESULT, "/payload/1/commitSha", 123),
    (END, "/result", "CANCELLED"),
    (END, "/result", "successful"),
    (END, "/result", "ABORTED"),
    (END, "/result", None),
]


@pytest.mark.parametrize(
    ("event", "pointer", "value"), INVALID, ids=lambda v: v if isinstance(v, str) else None
)
def test_invalid_field_is_400_with_its_pointer(
    api: Api, running: str, event: dict[str, Any], pointer: str, value: Any
) -> None:
    r = api.send(set_pointer(json.loads(json.dumps(event)), pointer, value), running)
    assert pointer in pointers(problem(r, 400))
    assert_rate_headers(r)
    detail = build_detail(api, "comp", "p1")
    assert detail["status"] == "BUILDING"
    assert detail["results"] == []


def test_the_spec_example_pointer(api: Api, running: str) -> None:
    broken = ev.git_revision()
    del broken["commitSha"]
    body = problem(api.send(ev.result("p1", ev.git_tag(), broken), running), 400)
    assert body["errors"] == [{"pointer": "/payload/1/commitSha", "detail": "field required"}]


def test_every_invalid_field_is_reported(api: Api, running: str) -> None:
    event = {**ev.start("p2", "comp"), "buildVersion": "", "dashboardUrl": "ftp://x"}
    del event["componentId"]
    assert sorted(pointers(problem(api.send(event, running), 400))) == [
        "/buildVersion",
        "/componentId",
        "/dashboardUrl",
    ]


def test_pointer_escapes_slash_and_tilde(api: Api, running: str) -> None:
    """RFC 6901: a pipelineId is a value, never a pointer segment; only field names are."""
    r = api.send({**ev.start("p/1~x", "comp"), "buildVersion": ""}, running)
    assert pointers(problem(r, 400)) == ["/buildVersion"]


def test_optional_fields_may_be_absent_or_null(api: Api, key: str) -> None:
    minimal = {k: v for k, v in ev.start("p1", "comp").items() if k in ("type", "version")}
    minimal |= {"pipelineId": "p1", "componentId": "comp", "buildVersion": "1"}
    assert api.send(minimal, key).status_code == 200
    nulls = {
        **ev.start("p2", "comp"),
        "actor": None,
        "createdAt": None,
        "pipelineName": None,
        "dashboardUrl": None,
    }
    assert api.send(nulls, key).status_code == 200
    no_fullname = {**ev.start("p3", "comp"), "actor": {"username": "jdoe"}}
    assert api.send(no_fullname, key).status_code == 200


def test_unknown_properties_are_ignored_everywhere(api: Api, key: str) -> None:
    start = {**ev.start("p1", "comp"), "future": {"a": [1, 2]}, "actor": {"username": "x", "id": 5}}
    assert api.send(start, key).status_code == 200
    result = ev.result("p1", {**ev.git_tag(), "signedBy": "ci"}, *ev.deployable())
    result["traceId"] = "abc"
    assert api.send(result, key).status_code == 200
    end = {**ev.end("p1"), "durationMs": 1234}
    assert api.send(end, key).json()["buildStatus"] == "SUCCESSFUL"
    stored = build_detail(api, "comp", "p1")["results"]
    assert all("signedBy" not in r for r in stored)


def test_digest_on_other_item_types_is_an_ignored_unknown_property(api: Api, running: str) -> None:
    item = {**ev.artifact("maven"), "digest": "not-even-a-digest"}
    assert api.send(ev.result("p1", item), running).status_code == 200
    [stored] = build_detail(api, "comp", "p1")["results"]
    assert "digest" not in stored


def test_created_at_and_receive_time_are_both_stored(api: Api, key: str) -> None:
    api.send(ev.start("p1", "comp", createdAt="2026-01-02T03:04:05+01:00"), key)
    [event] = build_detail(api, "comp", "p1")["events"]
    assert event["createdAt"].startswith("2026-01-02T02:04:05")
    assert event["receivedAt"] != event["createdAt"]


@pytest.mark.parametrize(
    "created_at",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999-01:00",
    ],
)
def test_created_at_at_the_edge_of_time_is_never_a_500(api: Api, key: str, created_at: str) -> None:
    r = api.send(ev.start("p1", "comp", createdAt=created_at), key)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert pointers(problem(r, 400)) == ["/createdAt"]


HOSTILE = [
    b'{"type": "codenow.ci.start.event", "version": "'
    + V1.encode()
    + b'", "pipelineId": "\\ud800", "componentId": "comp", "buildVersion": "1"}',
    b'{"type": "codenow.ci.start.event", "version": "'
    + V1.encode()
    + b'", "pipelineId": "p\\u0000", "componentId": "comp", "buildVersion": "1"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"type": "codenow.ci.end.event", "version": "'
    + V1.encode()
    + b'", "pipelineId": "p1", "result": "FAILED", "x": 1e999999}',
    b'{"type": "codenow.ci.end.event", "version": "'
    + V1.encode()
    + b'", "pipelineId": "p1", "result": "FAILED", "x": '
    + b"9" * 5000
    + b"}",
    b'\xef\xbb\xbf{"type": "codenow.ci.end.event"}',
    b'{"type": "codenow.ci.end.event", "type": "codenow.ci.start.event"}',
    b'{"type": "codenow.ci.start.event", "version": "'
    + V1.encode()
    + '", "pipelineId": "p☃", "componentId": "comp", "buildVersion": "1.0-β"}'.encode(),
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_never_a_500_for_anything_a_client_sent(api: Api, key: str, body: bytes) -> None:
    r = api.send(body, key)
    assert r.status_code < 500, r.text
    assert r.status_code == 200 or r.headers["content-type"].startswith("application/problem+json")


# ---- 413 -------------------------------------------------------------------------------------


def padded(event: dict[str, Any], size: int) -> bytes:
    """The event as JSON, padded with insignificant whitespace to exactly ``size`` bytes."""
    body = json.dumps(event).encode()
    assert len(body) < size
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_at_the_default_limit_is_accepted(api: Api, key: str) -> None:
    r = api.send(padded(ev.start("p1", "comp"), 256 * 1024), key)
    assert r.status_code == 200, r.text


def test_body_over_the_default_limit_is_413(api: Api, key: str) -> None:
    r = api.send(padded(ev.start("p1", "comp"), 256 * 1024 + 1), key)
    problem(r, 413)
    assert_rate_headers(r)
    assert history(api, "comp") == []


def test_streamed_body_over_the_limit_is_413(api: Api, key: str) -> None:
    """No Content-Length (chunked): the limit holds while reading."""
    body = padded(ev.start("p1", "comp"), 300 * 1024)
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    r = api.client.post(
        "/ci/webhook", content=chunks, headers={**ev.HEADERS, "X-Codenow-Api-Key": key}
    )
    problem(r, 413)
    assert history(api, "comp") == []


def test_lying_content_length_does_not_get_past_the_limit(api: Api, key: str) -> None:
    body = padded(ev.start("p1", "comp"), 300 * 1024)
    chunks = iter([body])
    r = api.client.post(
        "/ci/webhook",
        content=chunks,
        headers={**ev.HEADERS, "X-Codenow-Api-Key": key, "Content-Length": "100"},
    )
    assert r.status_code in (400, 413), r.text
    assert history(api, "comp") == []


# ---- 429 and rate-limit headers ----------------------------------------------------------------


def test_default_rate_limit_is_100_a_minute_per_key(api: Api, key: str) -> None:
    for i in range(100):
        r = api.send(b"{}", key)
        assert r.status_code == 400, r.text
        assert r.headers["x-ratelimit-limit"] == "100"
        assert r.headers["x-ratelimit-remaining"] == str(99 - i)
    r = api.send(ev.start("p1", "comp"), key)
    body = problem(r, 429)
    assert body["status"] == 429
    assert 0 < int(r.headers["retry-after"]) <= 60
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert history(api, "comp") == []
    # Another key has its own budget.
    other = api.key("comp", name="other")
    assert api.send(ev.start("p1", "comp"), other).status_code == 200


def test_rate_limit_is_configurable(make_api: MakeApi) -> None:
    clock = FakeClock()
    api = make_api(rate_limit_per_minute=3, clock=clock)
    api.component("comp")
    key = api.key("comp")
    remaining = []
    for event in (ev.start("p1", "comp"), ev.result("p1", ev.git_tag()), ev.end("p1")):
        r = api.send(event, key)
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-limit"] == "3"
        remaining.append(r.headers["x-ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]
    r = api.send(ev.end("p1"), key)
    problem(r, 429)
    assert_rate_headers(r, limit=3)
    assert r.headers["retry-after"] == r.headers["x-ratelimit-reset"] == "60"
    clock.advance(timedelta(seconds=45.5))
    r = api.send(ev.end("p1"), key)
    problem(r, 429)
    assert r.headers["retry-after"] == r.headers["x-ratelimit-reset"] == "15"  # rounded up


def test_429_is_answered_before_the_body_is_read(make_api: MakeApi) -> None:
    api = make_api(rate_limit_per_minute=1)
    api.component("comp")
    key = api.key("comp")
    api.send(b"{}", key)
    problem(api.send(b"x" * 300_000, key), 429)
    problem(api.send(b"{}", key, headers={"Content-Type": "text/plain"}), 429)


@pytest.mark.parametrize("case", ["200", "200-dup", "400", "403", "404", "409", "413", "415"])
def test_every_authenticated_response_carries_rate_limit_headers(
    api: Api, running: str, case: str
) -> None:
    api.component("other")
    requests: dict[str, tuple[Any, dict[str, str]]] = {
        "200": (ev.result("p1", ev.git_tag()), {}),
        "200-dup": (ev.start("p1", "comp"), {}),
        "400": (b"[]", {}),
        "403": (ev.start("p9", "other"), {}),
        "404": (ev.end("nope"), {}),
        "409": (ev.start("p1", "comp", "2.0"), {}),
        "413": (b" " * (256 * 1024 + 1), {}),
        "415": (ev.end("p1"), {"Content-Type": "text/plain"}),
    }
    event, headers = requests[case]
    r = api.send(event, running, headers=headers)
    assert r.status_code == int(case[:3]), r.text
    assert_rate_headers(r)
    assert r.headers["x-ratelimit-remaining"] == "98"  # the start of the fixture was one


# ---- 503 (SQLite: another process holds the write lock) --------------------------------------


@pytest.fixture
def sqlite_settings(sqlite_template: SQLiteTemplate, tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_template.fresh(tmp_path),
        data_dir=tmp_path,
        secret_key=SECRET,
        create_admin=False,
        sqlite_busy_timeout="1s",
    )


@pytest.fixture
def locked(sqlite_settings: Settings) -> Iterator[sqlite3.Connection]:
    path = sqlite_settings.database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    yield conn
    conn.close()


def test_database_busy_is_503_with_retry_after_and_safe_to_retry(
    make_api_sqlite: Callable[[], Api], locked: sqlite3.Connection
) -> None:
    api = make_api_sqlite()
    api.component("comp")
    key = api.key("comp")
    locked.execute("BEGIN IMMEDIATE")
    try:
        r = api.send(ev.start("p1", "comp"), key)
    finally:
        locked.execute("ROLLBACK")
    problem(r, 503)
    assert int(r.headers["retry-after"]) >= 1
    assert_rate_headers(r)
    assert history(api, "comp") == []
    retry = api.send(ev.start("p1", "comp"), key)
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicate"] is False


@pytest.fixture
def make_api_sqlite(sqlite_settings: Settings) -> Iterator[Callable[[], Api]]:
    with ExitStack() as stack:

        def make() -> Api:
            app = create_app(sqlite_settings)
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            stack.callback(app.state.runtime.close)
            return Api(client, app.state.runtime)

        yield make
