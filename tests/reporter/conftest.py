"""Fixtures shared by the reporter's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reporter.httpfakes import Servers
from tests.reporter.reporter_helpers import is_ci_variable
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests see no CI variables of the machine running them."""
    for name in list(os.environ):
        if is_ci_variable(name):
            monkeypatch.delenv(name)


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Fake HTTP servers on 127.0.0.1, closed when the test ends."""
    registry = Servers()
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server per test module (starting one takes seconds).

    Shadows the per-test fixture of ``tests/conftest.py``; sharing is safe because every
    reporter test creates its own component (``unique(...)``).
    """
    server = LiveServer(tmp_path_factory.mktemp("reporter-server")).start()
    try:
        yield server
    finally:
        server.stop()
