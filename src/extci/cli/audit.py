"""``extci audit``: who changed what, when, from where."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from extci.cli.api import connect
from extci.cli.commands import add, emit, group, positive
from extci.cli.output import listing


def _details(entry: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in entry["details"].items())


def render(entries: list[dict[str, Any]]) -> list[str]:
    headers = ("WHEN", "ACTOR", "ADDRESS", "ACTION", "COMPONENT", "TARGET", "DETAILS")
    fields = ("createdAt", "actor", "address", "action", "componentId", "target", _details)
    return listing(entries, headers, fields, empty="no audit entries")


def cmd_list(args: argparse.Namespace) -> int:
    query = {
        "component": args.component,
        "actor": args.actor,
        "action": args.action,
        "limit": args.limit,
    }
    page = connect().call("GET", "/audit", query=query)
    return emit(args, page["items"], render)


def register(sub: Any) -> None:
    audit = group(sub, "audit", "the audit log: who changed what, when, from where")
    p = add(audit, "list", cmd_list, help="audit entries, newest first")
    p.add_argument("--component", help="only entries about this component")
    p.add_argument("--actor", help="only this actor (a username, or cli:<OS user>)")
    p.add_argument("--action", help="only this action, e.g. key.created or user.deactivated")
    p.add_argument("--limit", type=positive, default=50, help="at most this many (1-200)")
