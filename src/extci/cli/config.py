"""Which server the commands talk to: ``EXTCI_URL`` and ``EXTCI_TOKEN``, else the login
that ``extci login`` stored in ``$XDG_CONFIG_HOME/extci/config.toml`` (default
``~/.config``), else none: the commands then work on the local database.

Standard library only: a laptop has ``pip install extci`` without the server extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from extci.cli.errors import CliError, ExitCode

URL_VARIABLE = "EXTCI_URL"
TOKEN_VARIABLE = "EXTCI_TOKEN"  # noqa: S105 - a variable name


class Server(NamedTuple):
    url: str  # without a trailing slash
    token: str
    source: str  # "environment" or the config file's path

    @property
    def api(self) -> str:
        return self.url + "/api/v1"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "extci" / "config.toml"


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"the server URL must start with http:// or https://: {url}", ExitCode.USAGE)
    return url


def read_login(path: Path | None = None) -> Server | None:
    import tomllib

    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}", ExitCode.CONFIG) from None
    server = data.get("server")
    if not isinstance(server, dict):
        return None
    url, token = server.get("url"), server.get("token")
    if not isinstance(url, str) or not isinstance(token, str) or not url or not token:
        return None
    return Server(url.rstrip("/"), token, str(path))


def configured_server() -> Server | None:
    """The server to talk to, or None for the local database."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if url and token:
        return Server(normalise_url(url), token, "environment")
    login = read_login()
    if login is not None and token:  # EXTCI_TOKEN alone replaces the stored token
        return Server(login.url, token, "environment")
    return login


def _toml_string(value: str) -> str:
    # A JSON string with only ASCII is a valid TOML basic string.
    import json

    return json.dumps(value, ensure_ascii=True)


def write_login(url: str, token: str, path: Path | None = None) -> Path:
    """Store the login, readable by its owner only (0600, its directory 0700)."""
    path = path or config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = (
        "# Written by 'extci login'; 'extci logout' removes it.\n"
        f"[server]\nurl = {_toml_string(url)}\ntoken = {_toml_string(token)}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)
    return path


def remove_login(path: Path | None = None) -> Server | None:
    path = path or config_path()
    login = read_login(path)
    path.unlink(missing_ok=True)
    return login
