"""Bytes that are no UTF-8 text, through a real ``extci serve`` (uvicorn decodes the URL,
Starlette the query): a lone surrogate, percent-encoded in a query or a path, or escaped
in a JSON body, is never a 5xx (issue 8, finding 4)."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.support.live import LiveServer
from tests.support.problems import pointers, problem

SURROGATE = "%ED%A0%80"  # U+D800 as UTF-8 would write it: not valid UTF-8


@pytest.mark.slow
def test_a_lone_surrogate_anywhere_in_a_request_is_a_4xx_or_harmless(
    live_server: LiveServer,
) -> None:
    live_server.external_component("orders")
    auth = {"Authorization": f"Bearer {live_server.token}"}
    with httpx.Client(base_url=live_server.url, headers=auth, timeout=10) as client:
        # In a query or a path it arrives as U+FFFD: a filter that matches nothing, an id
        # that names nothing.
        for path, status in [
            (f"/api/v1/components?q={SURROGATE}", 200),
            (f"/api/v1/components/orders/builds?branch={SURROGATE}&version={SURROGATE}", 200),
            (f"/api/v1/components/{SURROGATE}", 404),
            (f"/api/v1/components/orders/builds/{SURROGATE}", 404),
            (f"/api/v1/components/orders/ci-keys?cursor={SURROGATE}", 400),
        ]:
            r = client.get(path)
            assert r.status_code == status, (path, r.text)
        # In a JSON body, as the escape \\ud800: a 400 pointing at the field.
        for method, path, body, at in [
            ("POST", "/api/v1/tokens", rb'{"name":"\ud800"}', "/name"),
            ("PATCH", "/api/v1/components/orders", rb'{"name":"x\udc00"}', "/name"),
            ("POST", "/api/v1/components/orders/ci-keys", rb'{"name":"\ud800"}', "/name"),
            (
                "POST",
                "/api/v1/users",
                rb'{"username":"eve","role":"viewer","password":"\ud800\ud800\ud800\ud800"}',
                "/password",
            ),
        ]:
            r = client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            assert at in pointers(problem(r, 400)), (path, r.text)
        names = [c["name"] for c in client.get("/api/v1/components").json()["items"]]
        assert names == ["orders"]
