"""``extci trust-policies create|list|delete``: a component's OIDC trust policies (keyless
CI authentication), through the API like the other families: on the configured server, or
on the local database (``/components/{id}/trust-policies``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from extci.cli.api import connect, every, path
from extci.cli.commands import add, emit, group
from extci.cli.output import echo, listing


def _claim(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def cmd_create(args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "issuer": args.issuer,
        "audience": args.audience,
        "claims": dict(args.claim or []),
    }
    route = path("/components/{}/trust-policies", args.component)
    policy = connect().call("POST", route, body=body)
    if args.output == "table":
        echo(f"created trust policy {policy['id']} for {policy['componentId']}", file=sys.stderr)
    return emit(args, policy, lambda _: [])


def _claims(policy: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(policy["claims"].items()))


def render_list(policies: list[dict[str, Any]]) -> list[str]:
    headers = ("ID", "NAME", "ISSUER", "AUDIENCE", "CLAIMS", "LAST USED")
    fields = ("id", "name", "issuer", "audience", _claims, "lastUsedAt")
    return listing(policies, headers, fields, empty="no trust policies")


def cmd_list(args: argparse.Namespace) -> int:
    route = path("/components/{}/trust-policies", args.component)
    return emit(args, list(every(connect(), route)), render_list)


def cmd_delete(args: argparse.Namespace) -> int:
    route = path("/components/{}/trust-policies/{}", args.component, args.policy_id)
    connect().call("DELETE", route)
    echo(f"deleted trust policy {args.policy_id}", file=sys.stderr)
    return 0


def available() -> bool:
    """Trust policies come with the OIDC work (extci.trust); offered once it is merged."""
    import importlib.util

    return importlib.util.find_spec("extci.trust") is not None


def register(sub: Any) -> None:
    if not available():
        return
    policies = group(sub, "trust-policies", "keyless CI: a component's OIDC trust policies")
    p = add(policies, "create", cmd_create, help="trust a CI's identity tokens for a component")
    p.add_argument("component")
    p.add_argument("--name", required=True)
    p.add_argument(
        "--issuer", required=True, help="e.g. https://token.actions.githubusercontent.com"
    )
    p.add_argument("--audience", default="extci", help="the token's aud (default: extci)")
    p.add_argument(
        "--claim",
        type=_claim,
        action="append",
        metavar="NAME=VALUE",
        help="a claim condition, repeatable: repository=acme/orders, ref=refs/heads/main",
    )
    p = add(policies, "list", cmd_list, help="list a component's trust policies")
    p.add_argument("component")
    p = add(policies, "delete", cmd_delete, output=False, help="delete a trust policy")
    p.add_argument("component")
    p.add_argument("policy_id", type=int)
