"""``python3 extci-report.pyz report ...`` (and ``python -m extci.reporter report ...``):
the reporter alone, as the server serves it at ``/downloads/extci-report.pyz``.

Standard library only, and no import of the rest of the ``extci`` package: the zipapp
holds ``extci/__init__.py`` and ``extci/reporter/`` and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from extci import __version__
from extci.reporter import cli


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="extci-report",
        description="extci reporter: send CI events (start, results, end) to an extci server.",
    )
    parser.add_argument("--version", action="version", version=f"extci reporter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    only = argv[1] if len(argv) > 1 and argv[0] == "report" and argv[1] in cli.ACTIONS else None
    cli.register(sub, only=only)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
