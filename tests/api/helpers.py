"""Small assertions shared by the JSON API tests."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx

CI_KEY = re.compile(r"^extci_ci_[0-9A-Za-z]{38}$")
PAT = re.compile(r"^extci_pat_[0-9A-Za-z]{38}$")


def items(r: httpx.Response) -> list[dict[str, Any]]:
    """The items of a list response (one page: ``{"items": [...], "nextCursor": ...}``)."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "nextCursor"}, body
    listed: list[dict[str, Any]] = body["items"]
    return listed
