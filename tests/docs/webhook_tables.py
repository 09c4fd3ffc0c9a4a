"""The field tables of docs/webhook.md, generated from the models the server validates
every event with (``extci.ingest.events``, whose result items come from the registry
``extci.builds.result_types``, as do their labels), so the page cannot drift from the code.

``EXTCI_WRITE_DOCS=1 pytest tests/docs`` rewrites the tables in place; without it the test
fails when they differ.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from extci.builds import result_types
from extci.ingest import events as ev

BEGIN = "<!-- BEGIN generated field tables: tests/docs/webhook_tables.py -->"
END = "<!-- END generated field tables -->"

L = ev.DEFAULT_LIMITS
# validator -> (what, most characters); the configurable limits at their defaults
VALIDATORS: dict[Callable[..., Any], tuple[str, int]] = {
    ev._text: ("string", L.max_string_length),
    ev._identifier: ("string", L.max_id_length),
    ev._version: ("string", L.max_version_length),
    ev._location: ("URL, git or registry location", L.max_url_length),
    ev._web_url: ("absolute http(s) URL", L.max_url_length),
}


def describe(info: FieldInfo) -> str:
    annotation = info.annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(f'`"{a}"`' for a in args)
    if type(None) in args:  # X | None: describe X, whatever it is annotated with
        [inner] = [a for a in args if a is not type(None)]
        return describe(FieldInfo.from_annotation(inner))
    if annotation is ev.Actor:
        return "object: `username` (string, required), `fullname` (string)"
    if typing.get_origin(annotation) is list:
        return f"array of 1 to {L.max_payload_items} result items (below)"
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        if func in VALIDATORS:
            what, most = VALIDATORS[func]
            if any(getattr(m, "min_length", 0) for m in info.metadata):
                return f"{what}, 1 to {most} characters"
            return f"{what}, at most {most} characters (may be empty)"
        if getattr(meta, "pattern", None) == r"^sha256:[0-9a-f]{64}$":
            return "`sha256:` and 64 lower-case hex digits"
    if "datetime" in str(annotation).lower():
        return "RFC 3339 date-time with a UTC offset, e.g. `2026-01-31T12:00:00Z`"
    raise AssertionError(f"no description for {annotation!r}: teach webhook_tables.py")


def table(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> list[str]:
    rows = ["| Field | Type | Required |", "|---|---|---|"]
    # type first, then the envelope's fields, then the event's own, as the models declare
    fields = sorted(model.model_fields.items(), key=lambda kv: kv[0] != "type")
    for name, info in fields:
        wire = info.alias or name
        if wire in skip:
            continue
        required = "yes" if info.is_required() else "no"
        rows.append(f"| `{wire}` | {describe(info)} | {required} |")
    return rows


def generate() -> str:
    out = [BEGIN, ""]
    for model in (ev.StartEvent, ev.ResultEvent, ev.EndEvent):
        type_name = typing.get_args(model.model_fields["type"].annotation)[0]
        out += [f"#### `{type_name}`", "", *table(model), ""]
    intro = 'Every item has `type` and `"version": "v1"`; the other fields by type:'
    out += ["#### Result items (`payload`)", "", intro, ""]
    out += ["| `type` | What | Fields (required unless marked optional) |", "|---|---|---|"]
    for type_name, item in ev.ITEM_MODELS.items():
        parts = []
        for name, info in item.model_fields.items():
            wire = info.alias or name
            if wire in ("type", "version"):
                continue
            optional = "" if info.is_required() else " (optional)"
            parts.append(f"`{wire}`{optional}: {describe(info)}")
        label = result_types.BY_NAME[type_name].label
        out.append(f"| `{type_name}` | {label} | {'; '.join(parts)} |")
    out += ["", END]
    return "\n".join(out)
