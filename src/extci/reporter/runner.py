"""``extci report run``: start, the command, results, and an end event whatever happens.

The end event is what tools of this kind most often fail to send, leaving builds
"running" forever. Here it is sent on every path: the command succeeds, fails, cannot be
started, or the run is cancelled with SIGINT / SIGTERM (the signal is passed on to the
command, the reporter waits for it to exit, then sends ``CANCELED``).

The command runs in a process group of its own and a signal goes to that whole group, as
dumb-init does: a shell wrapper (``sh -c "make …"``) does not pass signals on, and its
children would otherwise outlive a cancelled run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from extci.reporter.client import Reporter
from extci.reporter.errors import ReporterError
from extci.reporter.events import Event, end_event, result_event
from extci.reporter.items import Item

CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# After a cancel the CI gives a few seconds before it kills everything (GitHub Actions:
# 7.5 s from SIGINT to SIGTERM), so the end event gets a short retry budget.
CANCEL_RETRY_FOR = 5.0


@dataclass(frozen=True)
class Outcome:
    exit_code: int  # the command's code, or 128 + signal number
    end_result: str  # SUCCESSFUL, FAILED or CANCELED


class SignalForwarder:
    """While active, SIGINT / SIGTERM are recorded and passed on to the child.

    It stays active until the end event has been sent, so a second signal cannot kill
    the reporter half-way through reporting the first.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.child: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        self._forward(signum)

    def _forward(self, signum: int) -> None:
        if self.child is None:
            return
        # The child leads its own group; the group may already have exited.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.child.pid, signum)

    def __enter__(self) -> SignalForwarder:
        self._previous = {s: signal.signal(s, self._handle) for s in CANCEL_SIGNALS}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def run(self, command: Sequence[str], reporter: Reporter) -> Outcome:
        if self.received:  # cancelled before the command started: do not start it
            return Outcome(128 + self.received[0], "CANCELED")
        try:
            self.child = _popen_in_own_group(command)
        except FileNotFoundError:
            reporter.log(f"command not found: {command[0]}")
            return Outcome(127, "FAILED")
        except PermissionError:
            reporter.log(f"command not executable: {command[0]}")
            return Outcome(126, "FAILED")
        if self.received:  # a signal arrived while the child was starting
            self._forward(self.received[0])
        code = self.child.wait()
        self.child = None  # its pid may be reused from now on: never signal it again
        killed_by = -code if code < 0 else None
        if self.received or killed_by in CANCEL_SIGNALS:
            signum = self.received[0] if self.received else killed_by
            assert signum is not None
            return Outcome(128 + signum, "CANCELED")
        if killed_by is not None:  # SIGKILL, SIGSEGV, ...: the command failed
            return Outcome(128 + killed_by, "FAILED")
        return Outcome(code, "SUCCESSFUL" if code == 0 else "FAILED")


def run(
    reporter: Reporter,
    pipeline_id: str,
    start: Event,
    early_items: Sequence[Item],
    items: Sequence[Item],
    command: Sequence[str],
) -> int:
    """The whole ``run`` sequence; returns the process exit code.

    ``early_items`` (the detected git revision) go out right after the start event;
    ``items`` (artifacts the command produces) only once the command has succeeded.
    """
    reporter.send(start)  # if the build cannot even be opened, do not run the command
    failures: list[ReporterError] = []

    def send(event: Event, retry_for: float | None = None) -> None:
        try:
            reporter.send(event, retry_for=retry_for)
        except ReporterError as error:  # keep going: the end event must still go out
            reporter.log(error.message)
            failures.append(error)

    with SignalForwarder() as forwarder:
        if early_items:
            send(result_event(pipeline_id, early_items))
        outcome = forwarder.run(command, reporter)
        if outcome.end_result == "SUCCESSFUL" and items:
            send(result_event(pipeline_id, items))
        cancelled = outcome.end_result == "CANCELED"
        send(end_event(pipeline_id, outcome.end_result), CANCEL_RETRY_FOR if cancelled else None)
    if outcome.exit_code != 0:
        return outcome.exit_code
    return int(failures[0].exit_code) if failures else 0


def _popen_in_own_group(command: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ``command`` as the leader of a new process group (so a signal reaches all of
    it). ``process_group`` is Python 3.11+; the served zipapp runs on 3.9 too, where
    ``setpgrp`` in the child does the same (the reporter has no other threads)."""
    if sys.version_info >= (3, 11):  # noqa: UP036 - the zipapp runs on 3.9 and 3.10 too
        return subprocess.Popen(list(command), process_group=0)
    return subprocess.Popen(list(command), preexec_fn=os.setpgrp)
