"""Fixtures of the fault tests: real ``extci serve`` processes on the test's database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.support.live import LiveServer

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def make_server(database_url: str, tmp_path: Path) -> Iterator[MakeServer]:
    """``make_server(name, **env)``: an ``extci serve`` process on this test's database
    (SQLite or PostgreSQL), started and ready, with an admin token; every process of the
    test shares one secret key. All are stopped at the end of the test."""
    servers: list[LiveServer] = []

    def make(name: str = "server", **env: str) -> LiveServer:
        server = LiveServer(
            tmp_path / name,
            database_url=database_url,
            extra_env={"EXTCI_SECRET_KEY": SECRET, **env},
        )
        if servers:  # a second process on the same database: the user exists already
            server.launch()
            server.token = servers[0].token
        else:
            server.start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
