"""Fixtures shared by the reporter's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from httpfakes import Servers
from reporter_helpers import is_ci_variable


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
