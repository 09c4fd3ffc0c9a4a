"""``extci keys``: a component's CI keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extci.cli.api import connect, every, path
from extci.cli.commands import add, emit, expiry, group, parse_expiry
from extci.cli.output import echo, listing

KEY_ACTIONS = {"suspend": "suspended", "resume": "resumed", "delete": "deleted"}


def cmd_create(args: argparse.Namespace) -> int:
    body = {"name": args.name, "expiresAt": expiry(args.expires)}
    new = connect().call("POST", path("/components/{}/ci-keys", args.component), body=body)
    if args.output == "table":
        # The secret alone on stdout: KEY=$(extci keys create ...) captures exactly the key.
        echo(f"created CI key {new['id']} ({new['hint']}); it is shown once", file=sys.stderr)
    return emit(args, new, lambda new: [new["key"]])


def render_list(keys: list[dict[str, Any]]) -> list[str]:
    headers = ("ID", "NAME", "KEY", "STATUS", "EXPIRES", "CREATED", "BY", "LAST USED")
    fields = ("id", "name", "hint", "status", "expiresAt", "createdAt", "createdBy", "lastUsedAt")
    return listing(keys, headers, fields, empty="no CI keys")


def cmd_list(args: argparse.Namespace) -> int:
    keys = list(every(connect(), path("/components/{}/ci-keys", args.component)))
    return emit(args, keys, render_list)


def _action(action: str) -> Any:
    def command(args: argparse.Namespace) -> int:
        route = path("/components/{}/ci-keys/{}", args.component, args.key_id)
        if action == "delete":
            key = connect().call("DELETE", route)
        else:
            key = connect().call("POST", f"{route}/{action}")
        line = f"CI key {args.key_id} of {args.component}: {KEY_ACTIONS[action]}"
        return emit(args, key, lambda _: [line])

    return command


def register(sub: Any) -> None:
    keys = group(sub, "keys", "CI keys")
    p = add(keys, "create", cmd_create, help="print a new CI key")
    p.add_argument("component")
    p.add_argument("--name", required=True)
    p.add_argument("--expires", type=parse_expiry, help="YYYY-MM-DD or ISO 8601 date-time")
    p = add(keys, "list", cmd_list, help="list a component's CI keys")
    p.add_argument("component")
    for action in KEY_ACTIONS:
        p = add(keys, action, _action(action), help=f"{action} a CI key")
        p.add_argument("component")
        p.add_argument("key_id", type=int)
