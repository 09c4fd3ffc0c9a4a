"""The OpenAPI document describes every route, the webhook body and its errors; /docs works."""

from __future__ import annotations

import re
from typing import Any

from extci.builds import result_types
from tests.support.api import Api

ROUTES = {
    ("GET", "/api/v1/components"),
    ("POST", "/api/v1/components"),
    ("GET", "/api/v1/components/{}"),
    ("PATCH", "/api/v1/components/{}"),
    ("DELETE", "/api/v1/components/{}"),
    ("PUT", "/api/v1/components/{}/ci-mode"),
    ("POST", "/api/v1/components/{}/ci-keys"),
    ("GET", "/api/v1/components/{}/ci-keys"),
    ("POST", "/api/v1/components/{}/ci-keys/{}/suspend"),
    ("POST", "/api/v1/components/{}/ci-keys/{}/resume"),
    ("DELETE", "/api/v1/components/{}/ci-keys/{}"),
    ("GET", "/api/v1/components/{}/builds"),
    ("GET", "/api/v1/components/{}/builds/{}"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/ci/webhook"),
}
EVENT_TYPES = {"codenow.ci.start.event", "codenow.ci.result.event", "codenow.ci.end.event"}
RESULT_TYPES = set(result_types.NAMES)
WEBHOOK_ERRORS = {"400", "401", "403", "404", "409", "413", "415", "429", "503"}


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, ops in doc["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def type_constants(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The ``type`` values a (possibly nested) union of object schemas admits."""
    schema = resolve(doc, schema)
    found: set[str] = set()
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= type_constants(doc, branch)
    type_prop = schema.get("properties", {}).get("type", {})
    if "const" in type_prop:
        found.add(type_prop["const"])
    found |= set(type_prop.get("enum", []))
    return found


def test_openapi_lists_every_route(api: Api) -> None:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    assert operations(r.json()) >= ROUTES


def test_openapi_webhook_request_schema_has_all_events_and_result_types(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    op = doc["paths"]["/ci/webhook"]["post"]
    content = op["requestBody"]["content"]
    assert "application/vnd.codenow.v1+json" in content
    body = content["application/vnd.codenow.v1+json"]["schema"]
    assert type_constants(doc, body) == EVENT_TYPES
    result_event = next(
        resolve(doc, b)
        for b in resolve(doc, body)["oneOf"]
        if type_constants(doc, b) == {"codenow.ci.result.event"}
    )
    items = result_event["properties"]["payload"]["items"]
    assert type_constants(doc, items) == RESULT_TYPES


def test_openapi_webhook_error_responses_are_problems(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    responses = doc["paths"]["/ci/webhook"]["post"]["responses"]
    assert "200" in responses
    assert set(responses) >= WEBHOOK_ERRORS
    for status in WEBHOOK_ERRORS:
        content = responses[status]["content"]
        assert "application/problem+json" in content, status
        schema = resolve(doc, content["application/problem+json"]["schema"])
        assert {"type", "title", "status", "detail"} <= set(schema["properties"])


def test_openapi_documents_errors_as_they_are_sent(api: Api) -> None:
    """Validation errors are answered 400 problem+json, so no operation may advertise
    FastAPI's default 422 HTTPValidationError."""
    doc = api.client.get("/openapi.json").json()
    advertising_422 = sorted(
        f"{method.upper()} {path}"
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "422" in op.get("responses", {})
    )
    assert advertising_422 == []


def test_docs_page_is_served(api: Api) -> None:
    r = api.client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text
