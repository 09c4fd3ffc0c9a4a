"""Limits (ci-events.md §2, §8): every limit at its value and one past it, with the
defaults and with each limit configured smaller; NUL is refused in every string."""

from __future__ import annotations

import json
from typing import Any

import pytest

from extci.builds import result_types
from extci.builds.result_types import Value
from tests.ingest.conftest import MakeApi, build_detail, set_pointer
from tests.ingest.items import item
from tests.support import events as ev
from tests.support.api import Api
from tests.support.problems import pointers, problem

DEFAULTS = {"id": 255, "version": 128, "url": 2048, "string": 1024}
SMALL = {"id": 12, "version": 8, "url": 40, "string": 16}
SETTING = {
    "id": "max_id_length",
    "version": "max_version_length",
    "url": "max_url_length",
    "string": "max_string_length",
}


def start2() -> dict[str, Any]:
    return ev.start("p2", "comp")


def result_with(item: dict[str, Any]) -> dict[str, Any]:
    return ev.result("p1", item)


# The limit on each kind of result field (a digest has its pattern instead).
LIMIT_OF = {Value.TEXT: "string", Value.LOCATION: "url", Value.WEB_URL: "url"}

# (name, event factory, pointer, kind of limit)
FIELDS: list[tuple[str, Any, str, str]] = [
    ("start.pipelineId", start2, "/pipelineId", "id"),
    ("start.componentId", start2, "/componentId", "id"),
    ("result.pipelineId", lambda: ev.result("p1", ev.git_tag()), "/pipelineId", "id"),
    ("end.pipelineId", lambda: ev.end("p1"), "/pipelineId", "id"),
    ("start.buildVersion", start2, "/buildVersion", "version"),
    ("start.dashboardUrl", start2, "/dashboardUrl", "url"),
    ("start.actor.username", start2, "/actor/username", "string"),
    ("start.actor.fullname", start2, "/actor/fullname", "string"),
    ("start.pipelineName", lambda: {**start2(), "pipelineName": "x"}, "/pipelineName", "string"),
    # Every field of every result type with a length limit, from the registry.
    *[
        (
            f"{t.name}.{f.wire}",
            (lambda t=t: result_with(item(t.name))),
            f"/payload/0/{f.wire}",
            LIMIT_OF[f.value],
        )
        for t in result_types.TYPES
        for f in t.fields
        if f.required and f.value in LIMIT_OF
    ],
]


# A long id that passes validation names a pipeline or component that does not exist.
UNKNOWN_AT_LIMIT = {"start.componentId", "result.pipelineId", "end.pipelineId"}


def value_of_length(kind: str, n: int) -> str:
    if kind == "url":
        prefix = "https://x.example/"
        return prefix + "a" * (n - len(prefix))
    return "a" * n


@pytest.fixture(params=["defaults", "configured"])
def limited(request: pytest.FixtureRequest, make_api: MakeApi) -> tuple[Api, dict[str, int]]:
    if request.param == "defaults":
        api, limits = make_api(), DEFAULTS
    else:
        api = make_api(**{SETTING[k]: v for k, v in SMALL.items()})
        limits = SMALL
    api.component("comp")
    key = api.key("comp")
    api.runtime.test_key = key  # type: ignore[attr-defined]
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    return api, limits


@pytest.mark.parametrize(("name", "factory", "pointer", "kind"), FIELDS, ids=[f[0] for f in FIELDS])
def test_field_at_its_limit_passes_and_one_over_is_400(
    limited: tuple[Api, dict[str, int]], name: str, factory: Any, pointer: str, kind: str
) -> None:
    api, limits = limited
    key = api.runtime.test_key  # type: ignore[attr-defined]
    limit = limits[kind]
    at = api.send(set_pointer(factory(), pointer, value_of_length(kind, limit)), key)
    assert at.status_code != 400, at.text
    assert at.status_code == (404 if name in UNKNOWN_AT_LIMIT else 200), at.text

    over = api.send(set_pointer(factory(), pointer, value_of_length(kind, limit + 1)), key)
    assert pointers(problem(over, 400)) == [pointer]
    assert str(limit) in problem(over, 400)["errors"][0]["detail"]


def test_payload_item_count_limit(limited: tuple[Api, dict[str, int]]) -> None:
    api, limits = limited
    key = api.runtime.test_key  # type: ignore[attr-defined]
    n = 100 if limits is DEFAULTS else api.runtime.settings.max_payload_items
    over = ev.result("p1", *[ev.git_tag(f"v{i}") for i in range(n + 1)])
    assert pointers(problem(api.send(over, key), 400)) == ["/payload"]
    at = ev.result("p1", *[ev.git_tag(f"v{i}") for i in range(n)])
    assert api.send(at, key).status_code == 200
    assert len(build_detail(api, "comp", "p1")["results"]) == n


def test_payload_item_count_is_configurable(make_api: MakeApi) -> None:
    api = make_api(max_payload_items=3)
    api.component("comp")
    key = api.key("comp")
    api.send(ev.start("p1", "comp"), key)
    assert pointers(
        problem(api.send(ev.result("p1", *[ev.git_tag(f"v{i}") for i in range(4)]), key), 400)
    ) == ["/payload"]
    assert (
        api.send(ev.result("p1", *[ev.git_tag(f"v{i}") for i in range(3)]), key).status_code == 200
    )


def padded(event: dict[str, Any], size: int) -> bytes:
    body = json.dumps(event).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_limit_is_configurable(make_api: MakeApi) -> None:
    api = make_api(max_body_bytes=2048)
    api.component("comp")
    key = api.key("comp")
    problem(api.send(padded(ev.start("p1", "comp"), 2049), key), 413)
    assert api.send(padded(ev.start("p1", "comp"), 2048), key).status_code == 200


# ---- NUL ------------------------------------------------------------------------------------

NUL_FIELDS = [(f[0], f[1], f[2]) for f in FIELDS] + [
    ("start.version", start2, "/version"),
    ("start.type", start2, "/type"),
    ("git-tag.version", lambda: result_with(ev.git_tag()), "/payload/0/version"),
    ("end.result", lambda: ev.end("p1"), "/result"),
]


@pytest.mark.parametrize(("name", "factory", "pointer"), NUL_FIELDS, ids=[f[0] for f in NUL_FIELDS])
def test_nul_is_refused_in_every_string(api: Api, name: str, factory: Any, pointer: str) -> None:
    api.component("comp")
    key = api.key("comp")
    api.send(ev.start("p1", "comp"), key)
    event = factory()
    original = event
    for part in pointer.split("/")[1:]:
        original = original[int(part)] if isinstance(original, list) else original[part]
    value = f"{original}\x00" if isinstance(original, str) else "x\x00y"
    r = api.send(set_pointer(event, pointer, value), key)
    assert pointer in pointers(problem(r, 400))
    detail = build_detail(api, "comp", "p1")
    assert detail["results"] == []
    assert detail["status"] == "BUILDING"


def test_a_branch_of_1024_multibyte_characters_is_stored(api: Api) -> None:
    """Within the string limit, whatever the bytes: never a 503 that no retry can cure."""
    api.component("comp")
    key = api.key("comp")
    assert api.send(ev.start("p1", "comp"), key).status_code == 200
    branch = "枝" * 1024  # 3 bytes each in UTF-8: 3,072 bytes
    r = api.send(ev.result("p1", ev.git_revision(branch=branch)), key)
    assert r.status_code == 200, r.text
    h = api.token("viewer", "reader")
    found = api.client.get("/api/v1/components/comp/builds", params={"branch": branch}, headers=h)
    assert [b["pipelineId"] for b in found.json()["items"]] == ["p1"]
