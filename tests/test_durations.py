"""One duration syntax, defined once in extci.durations, read by the server's settings and
by the reporter's flags and variables; the reporter zipapp carries it and runs it on the
oldest Python it promises."""

from __future__ import annotations

import argparse
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from extci.config import Settings
from extci.downloads.bundle import build_zipapp
from extci.durations import parse_duration
from extci.reporter.config import duration_seconds
from tests.reporter.test_report_zipapp import oldest_python

ACCEPTED = {
    "90": timedelta(seconds=90),
    "90s": timedelta(seconds=90),
    " 15 m ": timedelta(minutes=15),
    "500ms": timedelta(milliseconds=500),
    "1.5m": timedelta(seconds=90),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "0.5d": timedelta(hours=12),
    "0": timedelta(0),
}
REFUSED = ["", "s", "-5s", "1.5.2m", "7 days", "1w", ".5m", "5m30s", "forever"]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED.items())
def test_the_server_and_the_reporter_read_the_same_durations(
    text: str, expected: timedelta
) -> None:
    assert parse_duration(text) == expected
    assert Settings(build_inactivity_timeout=text).build_inactivity_timeout == expected
    assert duration_seconds(text) == expected.total_seconds()


@pytest.mark.parametrize("text", REFUSED)
def test_the_server_and_the_reporter_refuse_the_same_text(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as"):
        parse_duration(text)
    with pytest.raises(ValueError, match="duration"):
        Settings(build_inactivity_timeout=text)
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        duration_seconds(text)


def test_numbers_and_timedeltas_are_taken_as_they_are() -> None:
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration(1.5) == timedelta(seconds=1.5)
    assert parse_duration(timedelta(hours=1)) == timedelta(hours=1)


def test_the_zipapp_carries_the_syntax_and_reads_it_on_the_oldest_python(
    tmp_path: Path,
) -> None:
    pyz = tmp_path / "extci.pyz"
    pyz.write_bytes(build_zipapp())
    done = subprocess.run(
        [oldest_python(), str(pyz), "report", "end", "--dry-run", "--quiet",
         "--retry-for", "0.5d", "--timeout", "1.5m", "--pipeline-id", "p", "--result", "FAILED"],
        capture_output=True, text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = subprocess.run(
        [oldest_python(), str(pyz), "report", "end", "--dry-run", "--retry-for", "1w",
         "--pipeline-id", "p", "--result", "FAILED"],
        capture_output=True, text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert refused.returncode == 2
    assert "not a duration: '1w'" in refused.stderr
