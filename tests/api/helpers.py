"""Small assertions shared by the JSON API tests."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx

CI_KEY = re.compile(r"^extci_ci_[0-9A-Za-z]{38}$")
PAT = re.compile(r"^extci_pat_[0-9A-Za-z]{38}$")


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    return [e["pointer"] for e in body.get("errors", [])]


def items(r: httpx.Response) -> list[dict[str, Any]]:
    """The items of a list response (one page: ``{"items": [...], "nextCursor": ...}``)."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "nextCursor"}, body
    listed: list[dict[str, Any]] = body["items"]
    return listed
