"""``extci`` commands run in this process, as a process would run them: one interpreter start
and one import of the server's code for many commands, not one per command.

:func:`run` calls ``extci.cli.main.main`` with the command's environment, working
directory and stdin, and answers what a process would: the exit code (``SystemExit``'s, or 1
and the traceback on stderr for an exception), stdout and stderr.

``python -m tests.support.cli_batch`` reads a JSON list of argument lists on stdin and prints
a JSON list of ``{"rc", "stdout", "stderr"}``, one per command, in order: the tests that
compare the local and the remote mode run many commands in a fresh process of each mode.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Done:
    """What :func:`run` answers, named as ``subprocess.CompletedProcess`` names it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None, cwd: Path | None) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _exit_code(exit_: SystemExit) -> int:
    """As the interpreter ends: None is 0, a number itself, anything else printed and 1."""
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 1


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str = "",
) -> Done:
    """``extci ARGV`` in this process; ``env`` (the whole environment) and ``cwd`` hold for
    the command only."""
    from extci.cli.main import main as extci

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    with (
        _environment(env, cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        sys.stdin = io.StringIO(stdin)
        try:
            rc = extci(list(argv))
        except SystemExit as exit_:
            rc = _exit_code(exit_)
        except Exception:  # what the interpreter prints for an uncaught exception
            traceback.print_exc()
            rc = 1
        finally:
            sys.stdin = saved_stdin
    return Done(list(argv), rc, out.getvalue(), err.getvalue())


def main() -> None:
    commands = json.load(sys.stdin)
    answers = []
    for argv in commands:
        done = run(argv)
        answers.append({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr})
    sys.__stdout__.write(json.dumps(answers))


if __name__ == "__main__":
    main()
