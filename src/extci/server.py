"""``extci serve``: migrate, make sure an admin exists, then run uvicorn: in this process,
or in ``EXTCI_WORKERS`` worker processes sharing one listening socket (PostgreSQL only)."""

from __future__ import annotations

import logging
import logging.config
import os
import sys
from typing import Any

import uvicorn

from extci import metrics, migrate
from extci.accounts import service as accounts
from extci.app import create_app
from extci.config import Settings, create_secret_key
from extci.db import make_session_factory, unit_of_work
from extci.logs import logging_config
from extci.runtime import engine_for
from extci.slow_clients import protocol_class

log = logging.getLogger("extci")

SQLITE_ONE_WORKER = (
    "extci: {workers} workers need PostgreSQL (EXTCI_DATABASE_URL=postgresql://...); "
    "SQLite is served by one process: set EXTCI_WORKERS=1 or move with 'extci db copy'"
)


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` for this installation: the one place that says
    how the HTTP server runs, shared by ``extci serve`` and the benchmark's ceiling."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "log_config": logging_config(settings.log_format),
        # extci.logs.RequestLog writes the access log (with request ids and durations).
        "access_log": False,
        # X-Forwarded-For is read by extci.clientaddr, only from EXTCI_TRUSTED_PROXIES.
        "proxy_headers": False,
        "http": protocol_class(settings),  # adds the header read timeout (extci.slow_clients)
        "timeout_keep_alive": max(1, round(settings.keep_alive_timeout.total_seconds())),
        "timeout_graceful_shutdown": max(0, round(settings.shutdown_grace_period.total_seconds())),
    }


def worker_app() -> Any:
    """The application of one worker process (uvicorn calls this in each of them); the
    settings come from the environment the supervisor passed on."""
    return create_app(Settings())


def __getattr__(name: str) -> Any:
    # uvicorn's workers are spawned processes that import their HTTP protocol by name;
    # the class is built per installation (its deadlines), so it is built on that import.
    if name == "WorkerProtocol":
        return protocol_class(Settings())
    raise AttributeError(name)


def prepare(settings: Settings) -> str | None:
    """Create the secret key if there is none, migrate the database and make sure an admin
    exists; the new admin's password, if one was created."""
    create_secret_key(settings)  # before any worker process reads it
    engine = engine_for(settings)
    try:
        migrate.upgrade(engine)
        if not settings.create_admin:
            return None
        with unit_of_work(make_session_factory(engine), write=True) as session:
            return accounts.ensure_first_admin(session)
    finally:
        engine.dispose()


def serve(*, host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    overrides: dict[str, Any] = {
        k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None
    }
    settings = Settings(**overrides)
    if settings.workers > 1 and not settings.resolved_database_url.startswith("postgresql"):
        print(SQLITE_ONE_WORKER.format(workers=settings.workers), file=sys.stderr)
        return 2
    password = prepare(settings)
    if password is not None:
        # Printed once, to the console of whoever started the first server; never logged.
        print(
            "\n  extci: created user 'admin' with password\n\n"
            f"      {password}\n\n"
            f"  Sign in at {settings.base_url}/sign-in  (this password is not shown again)\n",
            file=sys.stderr,
            flush=True,
        )
    options = server_options(settings)
    logging.config.dictConfig(options["log_config"])
    log.info("serving on %s with %d worker(s)", settings.base_url, settings.workers)
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    # Worker processes read their settings from the environment: pass on what the command
    # line said.
    os.environ.update({f"EXTCI_{k.upper()}": str(v) for k, v in overrides.items()})
    with metrics.shared_between_workers():
        uvicorn.run(
            "extci.server:worker_app",
            factory=True,
            workers=settings.workers,
            **{**options, "http": "extci.server:WorkerProtocol"},
        )
    return 0
