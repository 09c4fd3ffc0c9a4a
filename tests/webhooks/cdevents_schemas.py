"""The parts of the CDEvents 0.4.1 JSON schemas (https://cdevents.dev/0.4.1/schema/…) that
extci's events use, written out as test data: the build started / finished and artifact
packaged / published events. Each mirrors the published schema: the same required
properties, types, formats, enums and ``additionalProperties: false``; only the
``context.links`` reference (to the links schemas, which extci does not send) is reduced
to "an array"."""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
NON_EMPTY = {"type": "string", "minLength": 1}
URI_REFERENCE = {"type": "string", "minLength": 1, "format": "uri-reference"}


def _event(slug: str, cdevent_type: str, subject_type: str, content: dict[str, Any]) -> Any:
    return {
        "$schema": DRAFT,
        "$id": f"https://cdevents.dev/0.4.1/schema/{slug}",
        "properties": {
            "context": {
                "properties": {
                    "version": NON_EMPTY,
                    "id": NON_EMPTY,
                    "source": URI_REFERENCE,
                    "type": {"type": "string", "enum": [cdevent_type], "default": cdevent_type},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "schemaUri": {"type": "string", "minLength": 1, "format": "uri"},
                    "chainId": NON_EMPTY,
                    "links": {"type": "array"},
                },
                "additionalProperties": False,
                "type": "object",
                "required": ["version", "id", "source", "type", "timestamp"],
            },
            "subject": {
                "properties": {
                    "id": NON_EMPTY,
                    "source": URI_REFERENCE,
                    "type": {
                        "type": "string",
                        "minLength": 1,
                        "enum": [subject_type],
                        "default": subject_type,
                    },
                    "content": content,
                },
                "additionalProperties": False,
                "type": "object",
                "required": ["id", "type", "content"],
            },
            "customData": {
                "oneOf": [{"type": "object"}, {"type": "string", "contentEncoding": "base64"}]
            },
            "customDataContentType": {"type": "string"},
        },
        "additionalProperties": False,
        "type": "object",
        "required": ["context", "subject"],
    }


SBOM = {
    "properties": {"uri": URI_REFERENCE},
    "additionalProperties": False,
    "type": "object",
    "required": ["uri"],
}

SCHEMAS = {
    "dev.cdevents.build.started.0.2.0": _event(
        "build-started-event",
        "dev.cdevents.build.started.0.2.0",
        "build",
        {"properties": {}, "additionalProperties": False, "type": "object"},
    ),
    "dev.cdevents.build.finished.0.2.0": _event(
        "build-finished-event",
        "dev.cdevents.build.finished.0.2.0",
        "build",
        {
            "properties": {"artifactId": {"type": "string"}},
            "additionalProperties": False,
            "type": "object",
        },
    ),
    "dev.cdevents.artifact.packaged.0.2.0": _event(
        "artifact-packaged-event",
        "dev.cdevents.artifact.packaged.0.2.0",
        "artifact",
        {
            "properties": {
                "change": {
                    "properties": {"id": NON_EMPTY, "source": URI_REFERENCE},
                    "additionalProperties": False,
                    "type": "object",
                    "required": ["id"],
                },
                "sbom": SBOM,
            },
            "additionalProperties": False,
            "type": "object",
            "required": ["change"],
        },
    ),
    "dev.cdevents.artifact.published.0.2.0": _event(
        "artifact-published-event",
        "dev.cdevents.artifact.published.0.2.0",
        "artifact",
        {
            "properties": {"sbom": SBOM, "user": NON_EMPTY},
            "additionalProperties": False,
            "type": "object",
        },
    ),
}
