"""``extci serve``: migrate, make sure an admin exists, then run uvicorn."""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn

from extci import migrate
from extci.accounts import service as accounts
from extci.app import create_app
from extci.config import Settings
from extci.db import unit_of_work


def server_options(settings: Settings) -> dict[str, Any]:
    """How ``extci serve`` runs uvicorn: the one place the benchmark's ceiling reads too,
    so that both always run on the same server stack."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
    }


def serve(*, host: str | None = None, port: int | None = None) -> int:
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    runtime = app.state.runtime
    migrate.upgrade(runtime.engine)
    password = None
    if settings.create_admin:
        with unit_of_work(runtime.sessions, write=True) as session:
            password = accounts.ensure_first_admin(session)
    if password is not None:
        # Printed once, to the console of whoever started the first server; never logged.
        print(
            "\n  extci: created user 'admin' with password\n\n"
            f"      {password}\n\n"
            f"  Sign in at {settings.base_url}/sign-in  (this password is not shown again)\n",
            file=sys.stderr,
            flush=True,
        )
    print(f"extci: serving on {settings.base_url}", file=sys.stderr, flush=True)
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, **server_options(settings))
    return 0
