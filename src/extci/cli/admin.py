"""Server administration: ``extci serve`` and ``extci db``. Local only: they work on the
configured database directly, never through a server, and need the server extra."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extci.cli.api import server_installed
from extci.cli.commands import Handler, add, group
from extci.cli.errors import CliError, ExitCode
from extci.cli.output import echo

SERVER_EXTRA_HINT = (
    "this command needs the server: install extci with its server extra "
    "(pip install 'extci[server] @ git+<extci repository URL>', see the README)"
)


def require_server() -> None:
    """In an install without the server extra: say which extra is missing, in one line."""
    if not server_installed():
        raise CliError(SERVER_EXTRA_HINT, ExitCode.CONFIG)


def local_only(command: Handler) -> Handler:
    """A command that runs the server's own code (imported when it runs)."""

    def handler(args: argparse.Namespace) -> int:
        require_server()
        return command(args)

    return handler


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
