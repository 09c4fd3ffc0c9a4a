"""An app that sends webhooks quickly to receivers on 127.0.0.1 (allowed by setting)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.support.api import SECRET, Api

FAST = {
    "webhook_allow_private": True,
    "webhook_poll_interval": "50ms",
    "webhook_backoff_min": "100ms",
    "webhook_backoff_max": "400ms",
    "webhook_timeout": "2s",
}

MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(database_url: str, tmp_path: Path) -> Iterator[MakeApi]:
    """``make_api(**settings)``: the app with these settings over FAST (one per test)."""
    made: list[tuple[Any, TestClient]] = []

    def make(**overrides: Any) -> Api:
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path,
            secret_key=SECRET,
            create_admin=False,
            **{**FAST, **overrides},
        )
        app = create_app(settings)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        made.append((app, client))
        return Api(client, app.state.runtime)

    yield make
    for app, client in made:
        client.__exit__(None, None, None)
        app.state.runtime.close()


@pytest.fixture
def hooked(make_api: MakeApi) -> Api:
    return make_api()
