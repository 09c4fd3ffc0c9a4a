"""The OpenAPI document as the API really answers: errors are problem+json, and request
validation failures are 400, not FastAPI's default 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from extci.ingest.endpoints import WEBHOOK_PATH
from extci.ingest.openapi import EVENT_DEFS, WEBHOOK_OPENAPI, problem_response
from extci.schemas import Problem
from extci.webhook_schema import with_limits

_WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _api_errors(path: str, method: str) -> dict[str, Any]:
    errors = {
        "400": problem_response("Invalid request: the `errors` list points at each field."),
        "401": problem_response("No valid personal access token or session."),
        "403": problem_response("Your role does not allow this (or the CSRF token is wrong)."),
    }
    if "{" in path:
        errors["404"] = problem_response("Not found.")
    if method in _WRITE_METHODS:
        errors["409"] = problem_response("Conflicts with the current state.")
    errors["503"] = problem_response("Database busy or unreachable; retry after Retry-After.")
    return errors


def build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if path.startswith("/api/"):
                for code, response in _api_errors(path, method).items():
                    responses.setdefault(code, response)
                operation["security"] = [{"bearer": []}]
    webhook = {**WEBHOOK_OPENAPI, "tags": ["webhook"], "operationId": "webhook_ci_webhook_post"}
    schema["paths"] = {WEBHOOK_PATH: {"post": webhook}, **schema.get("paths", {})}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(with_limits(EVENT_DEFS, app.state.runtime.limits))
    schemas["Problem"] = Problem.model_json_schema()
    schema["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "extci_pat_…"},
        "ciKey": {"type": "apiKey", "in": "header", "name": "X-Codenow-Api-Key"},
    }
    return schema
