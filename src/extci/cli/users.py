"""``extci users`` and ``extci tokens``: accounts and their personal access tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from extci.accounts.roles import Role
from extci.cli.api import Api, act_as, connect, every, path
from extci.cli.commands import add, emit, expiry, group, parse_expiry
from extci.cli.errors import CliError, ExitCode
from extci.cli.output import echo, listing


def cmd_users_create(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    body = {"username": args.name, "role": args.role, "password": password}
    new = connect().call("POST", "/users", body=body)
    if args.output == "table":
        echo(f"created user {new['username']} ({new['role']})", file=sys.stderr)
    return emit(args, new, lambda new: [new["password"]] if new["password"] else [])


def _state(user: Mapping[str, Any]) -> str:
    return "active" if user["active"] else "deactivated"


def render_users(found: list[dict[str, Any]]) -> list[str]:
    headers = ("USERNAME", "ROLE", "STATE", "CREATED")
    return listing(found, headers, ("username", "role", _state, "createdAt"), empty="no users")


def cmd_users_list(args: argparse.Namespace) -> int:
    return emit(args, list(every(connect(), "/users")), render_users)


def _activation(active: bool) -> Any:
    def command(args: argparse.Namespace) -> int:
        user = connect().call("PATCH", path("/users/{}", args.name), body={"active": active})
        state = "active: its tokens work again" if active else "deactivated: its tokens"
        if not active:
            state += " answer 401, its browser sessions have ended, sign-in is refused"
        return emit(args, user, lambda user: [f"user {user['username']} is {state}"])

    return command


def cmd_tokens_create(args: argparse.Namespace) -> int:
    api = act_as(connect(), args.user)
    new = api.call("POST", "/tokens", body={"name": args.name, "expiresAt": expiry(args.expires)})
    return emit(args, new, lambda new: [new["token"]])


def _owner(api: Api, user: str | None) -> str:
    """Whose tokens: ``--user``, else (on a server) the signed-in user."""
    if user is not None:
        return user
    me = api.current_user()
    if me is None:
        raise CliError("on the local database, name the user: --user NAME", ExitCode.USAGE)
    return str(me["username"])


def _tokens_route(user: str | None) -> str:
    """An admin's view of a user's tokens, or the signed-in user's own."""
    return path("/users/{}/tokens", user) if user else "/tokens"


def cmd_tokens_list(args: argparse.Namespace) -> int:
    api = connect()
    owner = _owner(api, args.user)

    def render(found: list[dict[str, Any]]) -> list[str]:
        headers = ("ID", "NAME", "TOKEN", "EXPIRES", "CREATED", "LAST USED")
        fields = ("id", "name", "hint", "expiresAt", "createdAt", "lastUsedAt")
        return listing(found, headers, fields, empty=f"no tokens for {owner}")

    return emit(args, list(every(api, _tokens_route(args.user))), render)


def cmd_tokens_delete(args: argparse.Namespace) -> int:
    api = connect()
    owner = _owner(api, args.user)
    api.call("DELETE", _tokens_route(args.user) + path("/{}", args.token_id))
    return emit(args, None, lambda _: [f"token {args.token_id} of {owner}: deleted"])


def register(sub: Any) -> None:
    users = group(sub, "users", "user accounts")
    p = add(users, "create", cmd_users_create, help="create a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else one is generated and printed)",
    )
    add(users, "list", cmd_users_list, help="list users, their roles and state")
    for verb, active in (("deactivate", False), ("activate", True)):
        what = "cut a user off (tokens, sessions, sign-in)" if not active else "restore a user"
        p = add(users, verb, _activation(active), help=what)
        p.add_argument("name")

    tokens = group(sub, "tokens", "personal access tokens")
    p = add(tokens, "create", cmd_tokens_create, help="print a new personal access token")
    p.add_argument("user", help="whose token (on a server: the signed-in user)")
    p.add_argument("--name", required=True)
    p.add_argument("--expires", type=parse_expiry, help="YYYY-MM-DD or ISO 8601 date-time")
    mine = "whose tokens (default on a server: the signed-in user's)"
    p = add(tokens, "list", cmd_tokens_list, help="list a user's personal access tokens")
    p.add_argument("--user", help=mine)
    p = add(tokens, "delete", cmd_tokens_delete, help="delete a user's personal access token")
    p.add_argument("--user", help=mine)
    p.add_argument("token_id", type=int)
