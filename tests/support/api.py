"""The app under test in-process: real HTTP semantics (httpx through ASGI) and the set-up
most tests need (users, components, CI keys, events), for the ``api`` fixture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from extci.runtime import Runtime
from tests.support import events as ev
from tests.support import factories

# The server's HMAC key in every in-process app of the tests.
SECRET = "test-secret-key-that-is-long-enough-for-hmac"


@dataclass
class Api:
    """The app behind real HTTP semantics (httpx through ASGI), plus handy setup."""

    client: TestClient
    runtime: Runtime

    @property
    def secret(self) -> bytes:
        return self.runtime.settings.hmac_key

    def token(self, role: str = "admin", username: str | None = None) -> dict[str, str]:
        token = factories.make_user(self.runtime.sessions, self.secret, username or role, role)
        return {"Authorization": f"Bearer {token}"}

    def component(
        self,
        component_id: str = "orders-service",
        kind: str = "application-component",
        *,
        external: bool = True,
    ) -> str:
        factories.make_component(self.runtime.sessions, component_id, kind, external=external)
        return component_id

    def key(self, component_id: str = "orders-service", **kw: Any) -> str:
        return factories.make_key(self.runtime.sessions, self.secret, component_id, **kw)[1]

    def send(
        self,
        event: dict[str, Any] | bytes | str,
        key: str | None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = dict(ev.HEADERS)
        if key is not None:
            h["X-Codenow-Api-Key"] = key
        h.update(headers or {})
        if isinstance(event, dict):
            return self.client.post("/ci/webhook", json=event, headers=h)
        return self.client.post("/ci/webhook", content=event, headers=h)
