"""``extci login``, ``extci logout``, ``extci whoami``: which server the commands talk to.

Standard library only: this is what a laptop without the server extra runs first.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from typing import Any

from extci.cli import config
from extci.cli.api import RemoteApi
from extci.cli.commands import add, emit
from extci.cli.errors import CliError, ExitCode
from extci.cli.output import echo


def _read_token(args: argparse.Namespace) -> str:
    if args.token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        import getpass

        token = getpass.getpass("Personal access token (not shown): ").strip()
    if not token:
        raise CliError("no token given: pipe it on stdin or type it at the prompt", ExitCode.USAGE)
    return token


def cmd_login(args: argparse.Namespace) -> int:
    url = config.normalise_url(args.server)
    token = _read_token(args)
    me = RemoteApi(config.Server(url, token, "login")).current_user()  # checks the token
    path = config.write_login(url, token)
    if args.output == "table":
        echo(f"logged in to {url} as {me['username']} ({me['role']}); saved in {path}")
    else:
        emit(args, {**me, "server": url}, lambda _: [])
    host = urllib.parse.urlsplit(url).hostname or ""
    if url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        echo(
            f"extci: warning: {url} is plain HTTP: the token travels unencrypted; use https://",
            file=sys.stderr,
        )
    if os.environ.get(config.TOKEN_VARIABLE):
        echo(
            f"extci: note: {config.TOKEN_VARIABLE} is set and overrides this login", file=sys.stderr
        )
    return 0


def cmd_logout(_args: argparse.Namespace) -> int:
    login = config.remove_login()
    if login is None:
        echo(f"not logged in (no {config.config_path()})")
    else:
        echo(f"logged out of {login.url}: removed {config.config_path()}")
    if os.environ.get(config.URL_VARIABLE) and os.environ.get(config.TOKEN_VARIABLE):
        echo(
            f"extci: note: {config.URL_VARIABLE} and {config.TOKEN_VARIABLE} are still set",
            file=sys.stderr,
        )
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    server = config.configured_server()
    if server is None:
        raise CliError(
            "not logged in to a server (extci login --server URL); commands work on the "
            "local database",
            ExitCode.CONFIG,
        )
    me = RemoteApi(server).current_user()
    via = "EXTCI_URL/EXTCI_TOKEN" if server.source == "environment" else server.source
    data = {**me, "server": server.url}
    return emit(
        args, data, lambda me: [f"{me['username']} ({me['role']}) on {server.url}, via {via}"]
    )


def register(sub: Any) -> None:
    p = add(sub, "login", cmd_login, help="sign in to a server with a personal access token")
    p.add_argument(
        "--server", required=True, metavar="URL", help="the server, e.g. https://ci.example.com"
    )
    p.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the token from stdin (the default when stdin is not a terminal)",
    )
    add(sub, "logout", cmd_logout, output=False, help="forget the stored login")
    add(sub, "whoami", cmd_whoami, help="the signed-in user, role and server")
