"""Request ids and JSON logs: the id a client sends (when safe) or a generated one is
echoed in the X-Request-Id header and in problem+json bodies, and is on the access-log line
with the method, path, status, duration, component and pipeline id; never a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from extci.logs import (
    ACCESS_LOGGER,
    JsonFormatter,
    LoopBatchingHandler,
    TextFormatter,
    logging_config,
    request_id_from,
)
from tests.support import events as ev
from tests.support.api import Api


def test_the_webhooks_line_names_the_request_component_and_pipeline(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.component("orders")
    key = api.key("orders")
    caplog.set_level(logging.INFO, logger="extci.access")
    r = api.send(ev.start("run-7", "orders"), key, headers={"X-Request-Id": "req-42"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "req-42"
    [record] = [rec for rec in caplog.records if rec.name == "extci.access"]
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/ci/webhook", 200)
    assert (entry["component"], entry["pipeline_id"]) == ("orders", "run-7")
    assert entry["duration_ms"] >= 0
    assert {"time", "level", "message", "pid"} <= entry.keys()
    assert key not in line
    assert "req-42" in TextFormatter().format(record)


@pytest.mark.parametrize(
    "presented",
    ["x" * 129, "has space", 'quote"d', "<script>", "ünïcode", ""],
)
def test_an_unsafe_request_id_is_replaced_by_a_generated_one(api: Api, presented: str) -> None:
    r = api.client.get("/api/v1/components", headers={"X-Request-Id": presented.encode()})
    assert r.status_code == 401
    echoed = r.headers["x-request-id"]
    assert echoed != presented
    assert len(echoed) == 22
    assert echoed.isalnum()
    assert r.json()["requestId"] == echoed


def test_every_problem_body_names_the_request(api: Api) -> None:
    api.component("orders")
    answers = [
        api.send(ev.start("run-1", "orders"), None),  # 401 from the webhook
        api.send(b"{", api.key("orders")),  # 400 from the event's validation
        api.client.get("/api/v1/no-such-thing"),  # 404 from the router
        api.client.post("/api/v1/components", content=b"x" * 2_000_000),  # 413 from BodyLimit
    ]
    for r in answers:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["requestId"] == r.headers["x-request-id"], r.text
    assert len({r.headers["x-request-id"] for r in answers}) == len(answers)


def test_request_ids_accept_what_proxies_send() -> None:
    for value in ("req-42", "a" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e", "1.2:3@x/y+z="):
        assert request_id_from(value.encode()) == value
    assert request_id_from(None) != request_id_from(None)


@pytest.fixture
def server_logging() -> Iterator[None]:
    """The server's logging configuration, for one test: the root logger's handlers and
    level and those of the loggers it configures are put back afterwards (a handler left on
    the root logger would write, in later tests, to a captured stream pytest has closed)."""
    names = ["", *logging_config("text")["loggers"]]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            for handler in lg.handlers:
                if handler not in handlers:
                    handler.close()
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate


@pytest.mark.usefixtures("server_logging")
def test_the_json_configuration_formats_every_logger_alike(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(logging_config("json"))
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 1)
    logging.getLogger("extci.somewhere").warning("careful: %s", "this")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("extci").exception("failed")
    logging.getLogger().handlers[0].flush()
    lines = capsys.readouterr().err.strip().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["message"] for e in entries] == [
        "Started server process [1]",
        "careful: this",
        "failed",
    ]
    assert [e["level"] for e in entries] == ["info", "warning", "error"]
    assert "ValueError: boom" in entries[2]["error"]


def test_a_line_that_cannot_be_written_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Access lines wait for the loop's next turn; if the stream is closed before they are
    written, the next record reports a logging error on stderr, as the standard handler does,
    and does not raise into the code that logged (a request being served)."""
    stream = io.StringIO()
    handler = LoopBatchingHandler(stream)

    async def log_then_close() -> None:
        handler.handle(logging.makeLogRecord({"name": ACCESS_LOGGER, "msg": "GET / 200"}))
        stream.close()
        handler.handle(logging.makeLogRecord({"name": "extci", "msg": "stopping"}))

    asyncio.run(log_then_close())
    assert "--- Logging error ---" in capsys.readouterr().err
