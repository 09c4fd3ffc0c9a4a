"""Result items: the types of the wire contract and the ``TYPE --field value`` syntax.

On the command line a result item is a type name followed by its fields, each field a flag
named after the wire field in kebab case (``commitSha`` -> ``--commit-sha``). Several items
are simply written one after the other; each type name starts a new item::

    git-revision  container --repository-url R --artifact-path P --artifact-version V
                  helm --repository-url R --artifact-path P --artifact-version V

Every flag takes exactly one value (``--flag value`` or ``--flag=value``), so a value that
happens to be a type name is never mistaken for the start of a new item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from extci.builds.result_types import TYPES

ITEM_VERSION = "v1"

# type -> (required fields, optional fields), in the registry's order (--help lists them so):
# derived from the server's registry (extci/builds/result_types.py), which is standard
# library only and travels in the served zipapp (extci/downloads/bundle.py).
RESULT_TYPES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    t.name: (
        tuple(f.wire for f in t.fields if f.required),
        tuple(f.wire for f in t.fields if not f.required),
    )
    for t in TYPES
}

# A result item as sent: {"type": ..., "version": "v1", <fields>}.
Item = dict[str, str]


class ItemSyntaxError(ValueError):
    """The result items on the command line cannot be understood."""


class ItemSpec(NamedTuple):
    """One item as written on the command line, before defaults are filled in."""

    type: str
    fields: dict[str, str]


def flag_for(field: str) -> str:
    """``commitSha`` -> ``--commit-sha``."""
    return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", field).lower()


def _field_for_flag(item_type: str, flag: str) -> str:
    required, optional = RESULT_TYPES[item_type]
    for field in (*required, *optional):
        if flag_for(field) == flag:
            return field
    allowed = ", ".join(flag_for(f) for f in (*required, *optional))
    raise ItemSyntaxError(f"{item_type}: unknown option {flag} (allowed: {allowed})")


def parse_items(tokens: Sequence[str]) -> list[ItemSpec]:
    """Split ``TYPE --field value … TYPE …`` into item specs (fields not yet checked)."""
    specs: list[ItemSpec] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            if not specs:
                raise ItemSyntaxError(f"{token} given before any result type")
            flag, eq, value = token.partition("=")
            if not eq:
                if i + 1 >= len(tokens):
                    raise ItemSyntaxError(f"{specs[-1].type}: {flag} needs a value")
                i += 1
                value = tokens[i]
            field = _field_for_flag(specs[-1].type, flag)
            if field in specs[-1].fields:
                raise ItemSyntaxError(f"{specs[-1].type}: {flag} given twice in one item")
            specs[-1].fields[field] = value
        elif token in RESULT_TYPES:
            specs.append(ItemSpec(token, {}))
        else:
            types = ", ".join(RESULT_TYPES)
            raise ItemSyntaxError(f"unknown result type {token!r} (one of: {types})")
        i += 1
    return specs


def complete_item(spec: ItemSpec, defaults: Mapping[str, str] | None = None) -> Item:
    """Fill missing fields from ``defaults`` (detected git revision) and check completeness."""
    required, _optional = RESULT_TYPES[spec.type]
    fields = dict(defaults or {})
    fields.update(spec.fields)
    missing = [flag_for(f) for f in required if not fields.get(f)]
    if missing:
        raise ItemSyntaxError(f"{spec.type}: missing {', '.join(missing)}")
    item: Item = {"type": spec.type, "version": ITEM_VERSION}
    for field in required + _optional:
        if field in fields:
            item[field] = fields[field]
    return item


def describe_types() -> str:
    """Help text listing every type with its flags."""
    lines = []
    for item_type, (required, optional) in RESULT_TYPES.items():
        flags = " ".join(f"{flag_for(f)} V" for f in required)
        flags += "".join(f" [{flag_for(f)} V]" for f in optional)
        lines.append(f"  {item_type:<13} {flags}")
    return "\n".join(lines)
