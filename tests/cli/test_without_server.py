"""An install without the server extra (``pip install extci``): a command that needs the
server's code says which extra to install, in one line and exit 78, never a traceback.

Here the server's packages are made unimportable in this process;
tests/reporter/test_report_install.py installs the reporter alone, for real.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from extci.cli.admin import SERVER_EXTRA_HINT
from tests.support import cli_batch

NO_SERVER_CONFIGURED = (
    "extci: no server configured: run 'extci login --server URL' (or set EXTCI_URL and "
    "EXTCI_TOKEN), or install extci with its server extra (extci[server], see the README) "
    "to work on its database\n"
)


@pytest.fixture
def without_server(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No server extra, no server configured: the environment a command runs in."""
    for name in ("sqlalchemy", "pydantic_settings"):
        monkeypatch.setitem(sys.modules, name, None)  # `import name` fails as when absent
    return {k: v for k, v in os.environ.items() if not k.startswith("EXTCI_")}


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["db", "upgrade"],
        ["db", "backup", "backup.db"],
        ["db", "restore", "backup.db"],
        ["db", "copy", "--to", "postgresql://localhost/extci"],
        ["builds", "prune", "--older-than", "180d"],  # read while the arguments are parsed
    ],
)
def test_a_local_only_command_names_the_missing_extra(
    without_server: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    done = cli_batch.run(argv, env=without_server, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (78, "", f"extci: {SERVER_EXTRA_HINT}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv", [["components", "list"], ["users", "create", "x", "--role", "admin"]]
)
def test_a_data_command_says_to_log_in_or_install_the_server(
    without_server: dict[str, str], tmp_path: Path, argv: list[str]
) -> None:
    done = cli_batch.run(argv, env=without_server, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (78, "", NO_SERVER_CONFIGURED)


def test_the_reporter_and_help_need_no_server(without_server: dict[str, str]) -> None:
    assert cli_batch.run(["--help"], env=without_server).returncode == 0
    assert cli_batch.run(["report", "--help"], env=without_server).returncode == 0
    usage = cli_batch.run(["builds", "prune", "--older-than"], env=without_server)
    assert usage.returncode == 2  # a usage error stays one
