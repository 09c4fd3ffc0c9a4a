"""The webhook's schema in the OpenAPI document states the limits this server enforces
(configured EXTCI_MAX_* values, no NUL, absolute http(s) URLs), so that what the document
calls valid is accepted and what it calls invalid is refused (Schemathesis checks both)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from extci.app import create_app
from extci.config import Settings
from extci.webhook_schema import WEB_URL
from tests.support.api import SECRET


def test_the_document_states_the_configured_limits(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'extci.db'}",
        data_dir=tmp_path,
        secret_key=SECRET,
        create_admin=False,
        max_string_length=40,
        max_id_length=30,
        max_version_length=20,
        max_url_length=50,
        max_payload_items=3,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    app.state.runtime.close()
    start = schemas["StartEvent"]["properties"]
    assert start["pipelineId"]["maxLength"] == 30
    assert start["buildVersion"]["maxLength"] == 20
    assert start["pipelineName"]["anyOf"][0]["maxLength"] == 40
    assert start["dashboardUrl"]["anyOf"][0]["maxLength"] == 50
    assert schemas["Actor"]["properties"]["fullname"]["anyOf"][0]["pattern"] == r"^[^\x00]*$"
    assert schemas["ResultEvent"]["properties"]["payload"]["maxItems"] == 3
    assert schemas["GitRevision"]["properties"]["repositoryUrl"]["maxLength"] == 50


def test_the_web_url_pattern_agrees_with_the_receiver() -> None:
    pattern = re.compile(WEB_URL)
    for good in ("https://ci.example.org/job/1/", "HTTP://a", "http://a:8080?x=1#y"):
        assert pattern.match(good), good
    for bad in (" https://a", "https://a ", "javascript:alert(1)", "https://", "ftp://a", "//a"):
        assert not pattern.match(bad), bad
