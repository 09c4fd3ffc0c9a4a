"""RFC 9457 problem answers (ci-events.md §6, api.md): the one assertion every test of an
error answer uses, and the field pointers of a validation problem."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

PROBLEM_JSON = "application/problem+json"


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem with this status; returns its body without ``requestId``
    (checked against the ``X-Request-Id`` header), so the rest can be compared whole."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM_JSON, r.headers
    body: dict[str, Any] = r.json()
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for error in body.get("errors", []):
        assert set(error) == {"pointer", "detail"}
        assert error["pointer"] == "" or error["pointer"].startswith("/")
        assert error["detail"]
    # Every answer names its own request (extci.logs).
    assert body.pop("requestId") == r.headers["x-request-id"]
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    """The JSON pointers of a problem body's ``errors``, in order."""
    return [e["pointer"] for e in body.get("errors", [])]
