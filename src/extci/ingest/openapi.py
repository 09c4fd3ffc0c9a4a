"""OpenAPI description of the webhook: the request is read as raw bytes (one validation
pass), so its schema is attached here from the same pydantic models that validate it."""

from __future__ import annotations

from typing import Any

from extci.builds.state import BuildStatus
from extci.ingest.events import EVENT_ADAPTER, WIRE_VERSION

REF_TEMPLATE = "#/components/schemas/{model}"


def event_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The union's schema and the component schemas it refers to."""
    schema = EVENT_ADAPTER.json_schema(by_alias=True, ref_template=REF_TEMPLATE)
    defs = schema.pop("$defs", {})
    return schema, defs


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


_EVENT_SCHEMA, EVENT_DEFS = event_schemas()

WEBHOOK_OPENAPI: dict[str, Any] = {
    "summary": "Receive a CI event (start, result or end)",
    "description": (
        "One endpoint for all three event kinds of the CodeNOW External CI v1 contract; "
        "the body's `type` picks the kind. Authenticate with the component's CI key in "
        "`X-Codenow-Api-Key`, or keyless with `Authorization: Bearer <OIDC identity token>` "
        "of a CI one of the component's trust policies accepts (`X-Extci-Component` names "
        "the component when several do). Answered only after the event is committed; every "
        "event is safe to send twice. The contract for CI authors: docs/webhook.md."
    ),
    "security": [{"ciKey": []}],
    "parameters": [
        {
            "name": "X-Codenow-Api-Key",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^extci_ci_[0-9A-Za-z]{38}$"},
            "description": "The component's CI key.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            WIRE_VERSION: {"schema": _EVENT_SCHEMA},
            "application/json": {"schema": _EVENT_SCHEMA},
        },
    },
    "responses": {
        "200": {
            "description": "Event stored (or recognised as a retry: `duplicate` is true).",
            "headers": {
                name: {"schema": {"type": "integer"}}
                for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
            },
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["pipelineId", "componentId", "buildStatus", "duplicate"],
                        "properties": {
                            "pipelineId": {"type": "string"},
                            "componentId": {"type": "string"},
                            "buildStatus": {
                                "type": "string",
                                "enum": [s.value for s in BuildStatus],
                            },
                            "duplicate": {"type": "boolean"},
                        },
                    }
                }
            },
        },
        "400": problem_response("Not JSON, not an object, unknown type, missing or invalid field."),
        "401": problem_response("No valid CI key (or identity token)."),
        "403": problem_response("The key is not allowed for this component."),
        "404": problem_response("Component or pipeline run not found."),
        "409": problem_response("Lifecycle conflict, or the component is not in External CI mode."),
        "413": problem_response("Body over the size limit."),
        "415": problem_response("Unsupported Content-Type."),
        "429": problem_response("Rate limit reached; see Retry-After."),
        "503": problem_response(
            "Transient: database busy or shutting down; retry after Retry-After."
        ),
    },
}
