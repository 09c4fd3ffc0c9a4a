"""One valid result item of any type of the registry (extci.builds.result_types): the
realistic ones from tests/support/events.py, else one made from the fields' value kinds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from extci.builds import result_types
from extci.builds.result_types import Value
from tests.support import events as ev

DIGEST = "sha256:" + "ab12" * 16
# A valid value of each kind of field, for a result type with no builder of its own.
SAMPLES = {
    Value.TEXT: "x",
    Value.LOCATION: "registry.example.org/team",
    Value.WEB_URL: "https://ci.example.org/x",
    Value.DIGEST: DIGEST,
}
BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "git-revision": ev.git_revision,
    "git-tag": ev.git_tag,
    "code-quality": ev.code_quality,
    "link": ev.link,
    **{t: (lambda t=t: ev.artifact(t)) for t in ("container", "helm", "maven", "npm", "nuget")},
}


def sample(kind: str) -> dict[str, Any]:
    fields = result_types.BY_NAME[kind].fields
    values = {f.wire: SAMPLES[f.value] for f in fields if f.required}
    return {"type": kind, "version": "v1", **values}


def item(kind: str) -> dict[str, Any]:
    return BUILDERS.get(kind, lambda: sample(kind))()
