"""Schemathesis hooks for the run against a live ``extci serve`` (tests/api/test_schemathesis.py),
loaded through ``SCHEMATHESIS_HOOKS``.

- **Its own admin token, renewed when it deletes it.** The stateful phase calls
  ``DELETE /api/v1/tokens/{id}`` with the ids that ``POST`` and ``GET /api/v1/tokens`` return,
  its own token's among them: that is the API working as documented. The token comes from an
  auth provider that mints one with the ``extci`` CLI (directly on the server's database, as
  an operator would) and mints another when an answer is 401, which Schemathesis then replays.
- **What no schema can say.** Two rules depend on the server's state, not on the shape of
  the request: a ``cursor`` must be the ``nextCursor`` of a page the server gave out, and an
  ``expiresAt`` must lie in the future. Positive cases (those Schemathesis expects to be
  accepted) leave out made-up cursors and past expiries; negative cases keep everything, so
  malformed cursors and dates are still sent and must still be refused.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.auths import AuthContext

from tests.support.live import EXTCI

USER = os.environ.get("EXTCI_SCHEMATHESIS_USER", "tester")
# A CI key of an external component, for the webhook (which takes no personal token).
CI_KEY = os.environ.get("EXTCI_SCHEMATHESIS_CI_KEY", "")


@schemathesis.auth(retry_on=[401])
class FreshAdminToken:
    """A personal access token of the test's admin, minted anew after each 401."""

    minted = 0

    def get(self, case: Case, context: AuthContext) -> str:
        FreshAdminToken.minted += 1
        done = subprocess.run(
            [EXTCI, "tokens", "create", USER, "--name", f"schemathesis-{self.minted}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        if context.operation.path == "/ci/webhook":
            case.headers = {**(case.headers or {}), "X-Codenow-Api-Key": CI_KEY}
        else:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


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
    return case
