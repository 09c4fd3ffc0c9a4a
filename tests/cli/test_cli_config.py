"""Where the commands find their server (in-process: no interpreter start per case)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from extci.cli import config
from extci.cli.errors import CliError, ExitCode


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("EXTCI_URL", "EXTCI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "xdg" / "extci" / "config.toml"


def test_the_login_file_honours_xdg_and_is_private(xdg: Path, tmp_path: Path) -> None:
    assert config.config_path() == xdg
    assert config.configured_server() is None
    xdg.parent.mkdir(parents=True)
    xdg.write_text("old")
    xdg.chmod(0o644)  # an existing file is made private too
    config.write_login("https://ci.example.org", 'tok"en\\')
    assert stat.S_IMODE(xdg.stat().st_mode) == 0o600
    assert config.configured_server() == config.Server(
        "https://ci.example.org", 'tok"en\\', str(xdg)
    )
    assert config.remove_login() is not None
    assert config.configured_server() is None
    assert config.remove_login() is None


def test_a_relative_xdg_config_home_is_ignored(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert config.config_path() == tmp_path / "home" / ".config" / "extci" / "config.toml"


def test_the_environment_wins_and_a_url_alone_changes_nothing(
    xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTCI_URL", "http://127.0.0.1:8080/")  # a CI job's, for the reporter
    assert config.configured_server() is None
    monkeypatch.setenv("EXTCI_TOKEN", "extci_pat_env")
    assert config.configured_server() == config.Server(
        "http://127.0.0.1:8080", "extci_pat_env", "environment"
    )
    monkeypatch.delenv("EXTCI_URL")
    config.write_login("https://ci.example.org", "extci_pat_stored")
    server = config.configured_server()
    assert server is not None
    assert (server.url, server.token) == ("https://ci.example.org", "extci_pat_env")


def test_a_broken_login_file_is_one_line(xdg: Path) -> None:
    xdg.parent.mkdir(parents=True)
    xdg.write_text("[server\nurl = ")
    with pytest.raises(CliError) as raised:
        config.configured_server()
    assert raised.value.exit_code == ExitCode.CONFIG
    assert raised.value.message.startswith(f"cannot read {xdg}: ")
