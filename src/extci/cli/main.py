"""The ``extci`` command.

This module imports only the standard library, and so do the command modules until a
command runs: an install of extci without the server extra must be able to run ``extci report``
and every command against a server. Local commands import the server's code when they run,
and say which extra to install when it is missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from extci import __version__
from extci.cli.errors import CliError

# Each subject registers its sub-commands on the parser; the handler is stored as
# ``args.handler`` and returns the process exit code.
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars(argv: Sequence[str] = ()) -> list[Registrar]:
    """All sub-commands, or for ``extci report ACTION`` only that action: a CI step runs it
    many times per pipeline, so it imports and builds nothing else."""
    from extci.reporter import cli as reporter_cli

    if argv[:1] == ["report"]:
        only = argv[1] if len(argv) > 1 and argv[1] in reporter_cli.ACTIONS else None
        return [lambda sub: reporter_cli.register(sub, only=only)]
    from extci.cli import (
        admin,
        audit,
        builds,
        completion,
        components,
        db,
        keys,
        session,
        trust,
        users,
    )

    # One module per command family. Against a configured server (extci login, or
    # EXTCI_URL and EXTCI_TOKEN) the families call its API; else the local database's.
    return [
        session.register,
        components.register,
        keys.register,
        builds.register,
        users.register,
        audit.register,
        trust.register,
        admin.register,  # serve, db: local only
        db.register,  # db copy|backup|restore, builds prune: local only
        reporter_cli.register,
        completion.register,
    ]


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extci",
        description="extci: External CI receiver (server, admin commands and CI reporter).",
        epilog=(
            "Commands talk to the server of 'extci login' (or EXTCI_URL and EXTCI_TOKEN) "
            "when one is configured, else to the local database."
        ),
    )
    parser.add_argument("--version", action="version", version=f"extci {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registrars(list(argv)):
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except CliError as error:  # an argument that the server's code reads, in an install without it
        from extci.cli.commands import fail

        return fail(error)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
