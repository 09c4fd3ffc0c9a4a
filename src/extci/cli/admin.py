"""Server administration: ``extci serve`` and ``extci db``. Local only: they work on the
configured database directly, never through a server, and need the server extra."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from extci.cli.commands import Handler, add, group, run
from extci.cli.errors import ApiError, CliError, ExitCode
from extci.cli.output import echo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from extci.audit.service import Actor
    from extci.config import Settings

SERVER_EXTRA_HINT = (
    "this command needs the server: install extci with its server extra "
    "(pip install 'extci[server] @ git+<extci repository URL>', see the README)"
)


def local_only(command: Handler) -> Handler:
    """A command that runs the server's own code: say which extra is missing, not a
    ModuleNotFoundError."""

    def handler(args: argparse.Namespace) -> int:
        try:
            import pydantic_settings  # noqa: F401
            import sqlalchemy  # noqa: F401
        except ImportError:
            raise CliError(SERVER_EXTRA_HINT, ExitCode.CONFIG) from None
        return command(args)

    return handler


# ---- for a local-only command that works on the database itself -------------------------
# (A command that the API also offers should call it instead: extci.cli.api.connect.)


def _settings() -> Settings:
    from extci.config import Settings

    return Settings()


def _actor() -> Actor:
    """The audit log names command-line changes ``cli:<OS user>``, with no address."""
    from extci.audit.service import Actor

    return Actor.cli()


@contextmanager
def _unit_of_work(settings: Settings, *, write: bool = True) -> Iterator[Session]:
    """One unit of work on the local database; a domain error becomes its problem."""
    from extci.cli.local import LocalApi
    from extci.db import unit_of_work
    from extci.errors import ExtciError

    local = LocalApi.open(settings)
    try:
        with unit_of_work(local.sessions, write=write) as session:
            yield session
    except ExtciError as error:
        raise ApiError(error.problem()) from None
    finally:
        local.close()


def _run(command: Handler) -> Handler:
    """A local-only command: the server extra is needed, errors as every command's."""
    return run(local_only(command))


def cmd_serve(args: argparse.Namespace) -> int:
    from extci.server import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from extci import migrate
    from extci.config import Settings
    from extci.runtime import engine_for

    engine = engine_for(Settings())
    migrate.upgrade(engine)
    engine.dispose()
    echo("database is at the latest schema", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    serve = add(
        sub,
        "serve",
        local_only(cmd_serve),
        output=False,
        help="apply migrations and start the server",
    )
    serve.add_argument("--host", default=None, help="interface (default EXTCI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default EXTCI_PORT or 8080)")
    serve.add_argument("--workers", type=int, default=None, help="processes (EXTCI_WORKERS or 1)")

    db = group(sub, "db", "database schema (local only)")
    add(db, "upgrade", local_only(cmd_db_upgrade), output=False, help="apply migrations")
