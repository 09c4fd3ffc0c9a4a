"""Schemathesis hooks for the run against a live ``extci serve`` (tests/api/test_schemathesis.py),
loaded through ``SCHEMATHESIS_HOOKS``.

- **Its own credentials, renewed when it deletes them.** The stateful phase calls
  ``DELETE /api/v1/tokens/{id}`` with the ids that ``POST`` and ``GET /api/v1/tokens`` return,
  its own token's among them, and deletes components and keys it finds: that is the API
  working as documented. The admin token (and, for the webhook, a CI key of an external
  component) come from an auth provider that mints them with the ``extci`` CLI (directly on
  the server's database, as an operator would) and mints new ones when an answer is 401,
  which Schemathesis then replays.
- **What no schema can say.** Three rules depend on the server's state, not on the shape of
  the request: a ``cursor`` must be the ``nextCursor`` of a page the server gave out, an
  ``expiresAt`` must lie in the future, and a webhook's ``url`` must name a host the
  server's address policy allows. Positive cases (those Schemathesis expects to be
  accepted) leave out made-up cursors and past expiries and get an allowed URL; negative
  cases keep everything, so malformed cursors, dates and URLs are still sent and must
  still be refused.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.auths import AuthContext

from extci.errors import ExtciError
from extci.webhooks.service import check_target
from tests.support.live import EXTCI

USER = os.environ.get("EXTCI_SCHEMATHESIS_USER", "tester")
# The external component whose CI keys the webhook's cases carry.
COMPONENT = "schemathesis-ci"
WEBHOOK = "/ci/webhook"


def _extci(*args: str, check: bool = True) -> str:
    done = subprocess.run([EXTCI, *args], capture_output=True, text=True, timeout=60, check=check)
    return done.stdout.strip()


def _is_webhook(case: Case, context: AuthContext) -> bool:
    return context.operation.path == WEBHOOK


@schemathesis.auth(retry_on=[401], cache_by_key=_is_webhook)
class FreshCredentials:
    """An admin's personal access token for the API, a CI key for the webhook; each minted
    anew after a 401 (the run deletes tokens, keys and components as the API allows)."""

    minted = 0

    def get(self, case: Case, context: AuthContext) -> str:
        FreshCredentials.minted += 1
        name = f"schemathesis-{self.minted}"
        if not _is_webhook(case, context):
            return _extci("tokens", "create", USER, "--name", name)
        # the component may be gone, or switched back to platform mode, by earlier cases
        _extci("components", "create", COMPONENT, "--kind", "library", check=False)
        _extci("components", "ci-mode", COMPONENT, "external")
        return _extci("keys", "create", COMPONENT, "--name", name)

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        header = (
            ("X-Codenow-Api-Key", data)
            if _is_webhook(case, context)
            else (
                "Authorization",
                f"Bearer {data}",
            )
        )
        case.headers = {**(case.headers or {}), header[0]: header[1]}


def _in_the_past(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value) <= datetime.now(UTC)
    except (ValueError, TypeError):
        return False


@schemathesis.hook
def map_case(context: Any, case: Case) -> Case:
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    if case.query and "cursor" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
    if isinstance(case.body, dict) and _in_the_past(case.body.get("expiresAt")):
        case.body = {k: v for k, v in case.body.items() if k != "expiresAt"}
    if isinstance(case.body, dict) and not _allowed_target(case.body.get("url")):
        case.body = {**case.body, "url": ALLOWED_TARGET}
    return case


ALLOWED_TARGET = "https://hooks.example.org/schemathesis"  # never sent to: see the fixture


def _allowed_target(value: Any) -> bool:
    if not isinstance(value, str):
        return True  # not a webhook subscription's body
    try:
        check_target(value, allow_private=False)
    except ExtciError:
        return False
    return True
