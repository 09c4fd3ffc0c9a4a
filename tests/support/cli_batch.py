"""Run many ``extci`` commands in one process (one interpreter start, not one per command).

Reads a JSON list of argument lists on stdin; prints a JSON list of
``{"rc", "stdout", "stderr"}``, one per command, in order. Used by the tests that compare
the local and the remote mode on many commands: ``python -m tests.support.cli_batch``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def main() -> None:
    from extci.cli.main import main as extci

    commands = json.load(sys.stdin)
    answers = []
    for argv in commands:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = extci(argv)
            except SystemExit as exit_:
                rc = exit_.code if isinstance(exit_.code, int) else 2
        answers.append({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()})
    sys.__stdout__.write(json.dumps(answers))


if __name__ == "__main__":
    main()
