"""What every command shares: registering it, running it, and printing its answer.

A command family lives in one module (``components.py``, ``keys.py``, ...) with a
``register(sub)`` function; ``main.py`` lists the modules. A family that another module
extends (``extci builds prune``) gets its group with :func:`group`, which returns the one
already registered under that name.

A handler takes the parsed arguments and returns an exit code; :func:`run` turns a
:class:`CliError` (a problem details answer, an unreachable server...) into its message on
stderr and its exit code. Handlers get their data from :func:`extci.cli.api.connect` and
print it with :func:`emit`: a table (or lines) for people, ``--output json`` for scripts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from extci import clock
from extci.cli.errors import CliError, ExitCode
from extci.cli.output import echo

Handler = Callable[[argparse.Namespace], int]
Render = Callable[[Any], Iterable[str]]


def _not_utf8(args: argparse.Namespace) -> str | None:
    """An argument that is no UTF-8 text: Python hands such bytes over as lone surrogates
    (surrogateescape), which would fail deep inside a database driver or an encoder."""
    for value in vars(args).values():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return value
    return None


def fail(error: CliError) -> int:
    echo(f"extci: {error.message}", file=sys.stderr)
    for line in error.details:
        echo(f"  {line}", file=sys.stderr)
    return int(error.exit_code)


def run(command: Handler) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from extci.cli.api import close_all

        bad = _not_utf8(args)
        if bad is not None:
            echo(f"extci: an argument is not UTF-8 text: {bad!a}", file=sys.stderr)
            return int(ExitCode.USAGE)
        try:
            return command(args)
        except CliError as error:
            return fail(error)
        finally:
            close_all()

    return handler


def group(sub: Any, name: str, help_text: str) -> Any:
    """The sub-commands of ``extci NAME``, created on first use."""
    groups: dict[str, Any] = sub.__dict__.setdefault("_extci_groups", {})
    if name not in groups:
        p = sub.add_parser(name, help=help_text, description=help_text)
        inner = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
        inner.required = True
        groups[name] = inner
    return groups[name]


def add(
    parent: Any, name: str, handler: Handler, *, output: bool = True, **kw: Any
) -> argparse.ArgumentParser:
    """A command; ``output``: it prints an API document, so it takes ``--output``."""
    if "help" in kw:
        kw.setdefault("description", kw["help"])
    p: argparse.ArgumentParser = parent.add_parser(name, **kw)
    p.set_defaults(handler=run(handler))
    if output:
        p.add_argument(
            "-o",
            "--output",
            choices=["table", "json"],
            default="table",
            help="table (for people, the default) or json (for scripts)",
        )
    return p


def emit(args: argparse.Namespace, data: Any, render: Render) -> int:
    """Print the API's document: rendered for people, or as JSON with ``--output json``."""
    if getattr(args, "output", "table") == "json":
        import json

        # ASCII only: no control character or bidi override reaches a terminal.
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
    else:
        echo(*render(data))
    return 0


def parse_expiry(text: str) -> datetime:
    try:
        return clock.parse_expiry(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None


def expiry(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 200")
    return value
