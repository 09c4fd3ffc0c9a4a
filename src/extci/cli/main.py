"""The ``extci`` command.

This module imports only the standard library: ``pip install extci`` (the reporter alone)
must be able to run ``extci report ...``. Server commands import their dependencies when
they run, and say which extra to install when those are missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from extci import __version__

# Each subject registers its sub-commands on the parser; the handler is stored as
# ``args.handler`` and returns the process exit code.
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Registrar]:
    from extci.cli import admin
    from extci.reporter import cli as reporter_cli

    return [admin.register, reporter_cli.register]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extci",
        description="extci: External CI receiver (server, admin commands and CI reporter).",
    )
    parser.add_argument("--version", action="version", version=f"extci {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registrars():
        register(sub)
    return parser


def _not_utf8(argv: Sequence[str]) -> str | None:
    """An argument that is no UTF-8 text: Python hands such bytes over as lone surrogates
    (surrogateescape), which would fail deep inside a database driver."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    bad = _not_utf8(sys.argv[1:] if argv is None else argv)
    if bad is not None:
        parser.error(f"an argument is not UTF-8 text: {bad!a}")
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
