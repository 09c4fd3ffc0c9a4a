"""A 405 names every method of the resource in ``Allow`` (RFC 9110 §15.5.6), for each path
of the OpenAPI document and for the web pages, not only the methods of the first route
whose path matched (issue 8: Schemathesis' "Allow header mismatch")."""

from __future__ import annotations

import re

import pytest

from tests.support.api import Api

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def concrete(path: str) -> str:
    """A URL for an OpenAPI path template: ids are numbers where the route wants one."""
    path = re.sub(r"\{(key_id|token_id)\}", "1", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_405_lists_every_method_of_its_path(api: Api) -> None:
    headers = api.token("admin")
    paths = api.client.get("/openapi.json").json()["paths"]
    checked = 0
    for template, operations in paths.items():
        documented = {m.upper() for m in operations}
        for method in sorted(METHODS - documented - {"HEAD"}):
            r = api.client.request(method, concrete(template), headers=headers)
            assert r.status_code == 405, (method, template, r.status_code)
            allowed = {m.strip() for m in r.headers["allow"].split(",")}
            assert allowed == documented, (method, template, allowed)
            checked += 1
    assert checked > 50  # every path of the document, each with several methods


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/components", {"GET", "POST"}),
        ("/components/x/ci-mode", {"GET", "POST"}),
        ("/components/x/keys/1/delete", {"GET", "POST"}),
    ],
)
def test_a_page_405_lists_every_method_too(api: Api, path: str, allowed: set[str]) -> None:
    r = api.client.request("PUT", path)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
