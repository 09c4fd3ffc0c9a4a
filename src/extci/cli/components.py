"""``extci components``: create, list, switch CI mode."""

from __future__ import annotations

import argparse
from typing import Any

from extci.cli.api import connect, every, path
from extci.cli.commands import add, emit, group
from extci.cli.output import listing
from extci.components.kinds import CiMode, ComponentKind


def cmd_create(args: argparse.Namespace) -> int:
    body = {"id": args.id, "kind": args.kind, "name": args.name}
    c = connect().call("POST", "/components", body=body)
    return emit(
        args, c, lambda c: [f"created {c['kind']} {c['id']} ({c['name']}), CI mode {c['ciMode']}"]
    )


def render_list(found: list[dict[str, Any]]) -> list[str]:
    headers = ("ID", "NAME", "KIND", "CI MODE")
    return listing(found, headers, ("id", "name", "kind", "ciMode"), empty="no components")


def cmd_list(args: argparse.Namespace) -> int:
    return emit(args, list(every(connect(), "/components")), render_list)


def cmd_ci_mode(args: argparse.Namespace) -> int:
    c = connect().call("PUT", path("/components/{}/ci-mode", args.id), body={"mode": args.mode})

    def render(c: dict[str, Any]) -> list[str]:
        builds = "on" if c["platformBuilds"] else "off"
        return [f"{c['id']}: CI mode {c['ciMode']} (platform Release and Preview builds {builds})"]

    return emit(args, c, render)


def register(sub: Any) -> None:
    comps = group(sub, "components", "components and their CI mode")
    p = add(comps, "create", cmd_create, help="create a component")
    p.add_argument("id", help="technical name: lowercase letters, digits and '-'")
    p.add_argument("--kind", required=True, choices=[k.value for k in ComponentKind])
    p.add_argument("--name", help="display name (default: the id)")
    add(comps, "list", cmd_list, help="list components")
    p = add(comps, "ci-mode", cmd_ci_mode, help="switch CI mode")
    p.add_argument("id")
    p.add_argument("mode", choices=[m.value for m in CiMode])
