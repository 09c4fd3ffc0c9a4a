"""Shared helpers for the webhook tests: apps with other settings, build reads, problems."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.clock import Clock
from extci.config import Settings
from tests.support.api import Api

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(settings: Settings) -> Iterator[MakeApi]:
    """``make_api(**overrides)``: another app on the test's database, with other settings
    (``clock=``: a :class:`tests.support.fake_clock.FakeClock` instead of the system's)."""
    with ExitStack() as stack:

        def make(*, clock: Clock | None = None, **overrides: Any) -> Api:
            base = {
                "database_url": settings.database_url,
                "data_dir": settings.data_dir,
                "secret_key": settings.secret_key,
                "create_admin": False,
            }
            app = create_app(Settings(**{**base, **overrides}), clock=clock)
            stack.callback(app.state.runtime.close)  # after the client has closed
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            return Api(client, app.state.runtime)

        yield make


def viewer(api: Api) -> dict[str, str]:
    """Bearer headers of one viewer per app (users are unique by name)."""
    headers: dict[str, str] | None = getattr(api.runtime, "_test_viewer", None)
    if headers is None:
        headers = api.token("viewer", username=f"viewer-{uuid.uuid4().hex[:8]}")
        api.runtime._test_viewer = headers  # type: ignore[attr-defined]
    return headers


def build_detail(api: Api, component_id: str, pipeline_id: str) -> dict[str, Any]:
    r = api.client.get(
        f"/api/v1/components/{component_id}/builds/{pipeline_id}", headers=viewer(api)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def history(api: Api, component_id: str, **params: str) -> list[dict[str, Any]]:
    r = api.client.get(
        f"/api/v1/components/{component_id}/builds",
        params=params,
        headers=viewer(api),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def stored_results(detail: dict[str, Any]) -> list[dict[str, str]]:
    """The build's results without the server's receive stamp, for comparison."""
    return [{k: v for k, v in r.items() if k != "receivedAt"} for r in detail["results"]]


def assert_rate_headers(r: httpx.Response, limit: int = 100) -> None:
    for name in RATE_HEADERS:
        assert name in r.headers, (r.status_code, dict(r.headers))
    assert int(r.headers["x-ratelimit-limit"]) == limit
    assert 0 <= int(r.headers["x-ratelimit-remaining"]) < limit
    assert 0 < int(r.headers["x-ratelimit-reset"]) <= 60


def set_pointer(document: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """Set the value at a JSON pointer (parents must exist); returns the document."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    target: Any = document
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return document


def delete_pointer(document: dict[str, Any], pointer: str) -> dict[str, Any]:
    parts = pointer.split("/")[1:]
    target: Any = document
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    del target[parts[-1]]
    return document
