"""Trust policies and OIDC tokens: the app trusting http issuers (test-only setting), and
a real issuer on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from tests.support.api import SECRET, Api
from tests.support.oidc_issuer import Issuer, running_issuer


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def oidc_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=SECRET,
        create_admin=False,
        oidc_allow_http_issuers=True,
        rate_limit_per_minute=5,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, app.state.runtime)
    app.state.runtime.close()
