"""``extci trust-policies create|list|delete``: a component's OIDC trust policies (keyless
CI authentication), on the configured database as the other admin commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from extci.cli.admin import _actor, _run, _settings, _uow
from extci.cli.output import echo, table, when


def _claim(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def cmd_create(args: argparse.Namespace) -> int:
    from extci.trust import service

    settings = _settings()
    with _uow(settings) as session:
        policy = service.create(
            session,
            args.component,
            name=args.name,
            issuer=args.issuer,
            audience=args.audience,
            claims=dict(args.claim or []),
            actor=_actor(),
            allow_http=settings.oidc_allow_http_issuers,
        )
        echo(f"created trust policy {policy.id} for {policy.component_id}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from extci.pagination import every
    from extci.trust import service

    with _uow(_settings(), write=False) as session:
        policies = every(lambda c: service.listing(session, args.component, cursor=c, limit=200))
        rows = [
            [
                str(p.id),
                p.name,
                p.issuer,
                p.audience,
                " ".join(f"{k}={v}" for k, v in sorted(p.claims.items())),
                when(p.last_used_at),
            ]
            for p in policies
        ]
    headers = ["ID", "NAME", "ISSUER", "AUDIENCE", "CLAIMS", "LAST USED"]
    echo(*table(headers, rows, empty="no trust policies"))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from extci.trust import service

    with _uow(_settings()) as session:
        service.delete(session, args.component, args.policy_id, actor=_actor())
    echo(f"deleted trust policy {args.policy_id}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    group = sub.add_parser("trust-policies", help="keyless CI: a component's OIDC trust policies")
    inner = group.add_subparsers(dest="trust_command", metavar="COMMAND")
    inner.required = True

    def add(name: str, handler: Callable[[argparse.Namespace], int], **kw: Any) -> Any:
        p = inner.add_parser(name, **kw)
        p.set_defaults(handler=_run(handler))
        p.add_argument("component")
        return p

    p = add("create", cmd_create, help="trust a CI's identity tokens for a component")
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
    add("list", cmd_list, help="list a component's trust policies")
    p = add("delete", cmd_delete, help="delete a trust policy")
    p.add_argument("policy_id", type=int)
