"""Server and admin commands: they work on the configured database directly.

Thin edges: parse arguments, open one unit of work, call one service, print plain text.
A secret a command creates is printed alone on stdout; everything else for people goes to
stderr, so ``KEY=$(extci keys create ...)`` captures exactly the key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from extci import clock
from extci.cli.deployable import FORMATS as DEPLOYABLE_FORMATS
from extci.cli.output import echo, table, when
from extci.humanize import duration

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from extci.audit.service import Actor
    from extci.config import Settings

SERVER_EXTRA_HINT = "this command needs the server: pip install 'extci[server]'"


def parse_expiry(text: str) -> datetime:
    try:
        return clock.parse_expiry(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 200")
    return value


def _settings() -> Settings:
    from extci.config import Settings

    return Settings()


def _actor() -> Actor:
    """The audit log names command-line changes ``cli:<OS user>``, with no address."""
    from extci.audit.service import Actor

    return Actor.cli()


@contextmanager
def _uow(settings: Settings, *, write: bool = True) -> Iterator[Session]:
    from extci import migrate
    from extci.db import make_session_factory, sqlite_path, unit_of_work
    from extci.errors import NotFound
    from extci.runtime import engine_for

    path = sqlite_path(settings.resolved_database_url)
    if path is not None and not path.exists():
        # Don't leave an empty database behind a command run in the wrong directory.
        raise NotFound(
            f"No extci database at {path}. Run this where the server runs, or set "
            "EXTCI_DATABASE_URL / EXTCI_DATA_DIR; 'extci db upgrade' creates a new one."
        )
    engine = engine_for(settings)
    try:
        migrate.ensure_current(engine)
        with unit_of_work(make_session_factory(engine), write=write) as session:
            yield session
    finally:
        engine.dispose()


def _not_utf8(args: argparse.Namespace) -> str | None:
    """An argument that is no UTF-8 text: Python hands such bytes over as lone surrogates
    (surrogateescape), which would fail deep inside a database driver."""
    for value in vars(args).values():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return value
    return None


def _run(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn domain errors into a readable message and exit code 1 (2 for arguments that are
    no text)."""

    def handler(args: argparse.Namespace) -> int:
        bad = _not_utf8(args)
        if bad is not None:
            echo(f"extci: an argument is not UTF-8 text: {bad!a}", file=sys.stderr)
            return 2
        try:
            # Every admin command needs the server extra; a reporter-only install lacks it.
            import pydantic_settings  # noqa: F401
            import sqlalchemy  # noqa: F401

            from extci.errors import ExtciError
        except ImportError:
            echo(f"extci: {SERVER_EXTRA_HINT}", file=sys.stderr)
            return 2
        try:
            return command(args)
        except ExtciError as exc:
            echo(f"extci: {exc.detail}", file=sys.stderr)
            for error in exc.errors:
                echo(f"  {error.pointer}: {error.detail}", file=sys.stderr)
            return 1

    return handler


# ---- serve / db -----------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from extci.server import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from extci import migrate
    from extci.runtime import engine_for

    engine = engine_for(_settings())
    migrate.upgrade(engine)
    engine.dispose()
    echo("database is at the latest schema", file=sys.stderr)
    return 0


# ---- users and tokens -----------------------------------------------------------------


def cmd_users_create(args: argparse.Namespace) -> int:
    from extci.accounts import service

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    with _uow(_settings()) as session:
        new = service.create_user(session, args.name, args.role, password, actor=_actor())
    echo(f"created user {args.name} ({args.role})", file=sys.stderr)
    if new.password is not None:
        echo(new.password)
    return 0


def cmd_users_list(_args: argparse.Namespace) -> int:
    from extci.accounts import service
    from extci.pagination import MAX_LIMIT, every

    with _uow(_settings(), write=False) as session:
        found = every(lambda c: service.list_users(session, cursor=c, limit=MAX_LIMIT))
        rows = [
            [u.username, u.role, "active" if u.active else "deactivated", when(u.created_at)]
            for u in found
        ]
    echo(*table(["USERNAME", "ROLE", "STATE", "CREATED"], rows, empty="no users"))
    return 0


def _user_activation(active: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        from extci.accounts import service

        with _uow(_settings()) as session:
            user = service.update_user(session, args.name, actor=_actor(), active=active)
        state = "active: its tokens work again" if active else "deactivated: its tokens"
        if not active:
            state += " answer 401, its browser sessions have ended, sign-in is refused"
        echo(f"user {user.username} is {state}")
        return 0

    return command


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from extci.accounts import service

    settings = _settings()
    with _uow(settings) as session:
        user = service.get_user(session, args.user)
        new = service.create_token(
            session, settings.secret, user, name=args.name, expires_at=args.expires, actor=_actor()
        )
    echo(new.secret)
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from extci.accounts import service
    from extci.pagination import MAX_LIMIT, every

    with _uow(_settings(), write=False) as session:
        user = service.get_user(session, args.user)
        found = every(lambda c: service.list_tokens(session, user, cursor=c, limit=MAX_LIMIT))
        rows = [
            [
                str(t.id),
                t.name,
                t.hint,
                when(t.expires_at),
                when(t.created_at),
                when(t.last_used_at),
            ]
            for t in found
        ]
    headers = ["ID", "NAME", "TOKEN", "EXPIRES", "CREATED", "LAST USED"]
    echo(*table(headers, rows, empty=f"no tokens for {args.user}"))
    return 0


def cmd_tokens_delete(args: argparse.Namespace) -> int:
    from extci.accounts import service

    with _uow(_settings()) as session:
        user = service.get_user(session, args.user)
        service.delete_token(session, user, args.token_id, actor=_actor())
    echo(f"token {args.token_id} of {user.username}: deleted")
    return 0


# ---- audit ----------------------------------------------------------------------------


def cmd_audit_list(args: argparse.Namespace) -> int:
    from extci.audit import service

    with _uow(_settings(), write=False) as session:
        page = service.listing(
            session,
            component_id=args.component,
            actor=args.actor,
            action=args.action,
            limit=args.limit,
        )
    rows = [
        [
            when(e.created_at),
            e.actor,
            e.address or "-",
            e.action,
            e.component_id or "-",
            e.target,
            ", ".join(f"{k}={v}" for k, v in e.details.items()),
        ]
        for e in page.items
    ]
    headers = ["WHEN", "ACTOR", "ADDRESS", "ACTION", "COMPONENT", "TARGET", "DETAILS"]
    echo(*table(headers, rows, empty="no audit entries"))
    return 0


# ---- components and keys --------------------------------------------------------------


def cmd_components_create(args: argparse.Namespace) -> int:
    from extci.components import service

    with _uow(_settings()) as session:
        c = service.create(session, args.id, args.name, args.kind)
    echo(f"created {c.kind} {c.id} ({c.name}), CI mode {c.ci_mode}")
    return 0


def cmd_components_list(_args: argparse.Namespace) -> int:
    from extci.components import service
    from extci.pagination import MAX_LIMIT, every

    with _uow(_settings(), write=False) as session:
        found = every(lambda c: service.listing(session, cursor=c, limit=MAX_LIMIT))
        rows = [[c.id, c.name, c.kind, c.ci_mode] for c in found]
    echo(*table(["ID", "NAME", "KIND", "CI MODE"], rows, empty="no components"))
    return 0


def cmd_components_ci_mode(args: argparse.Namespace) -> int:
    from extci.components import service

    with _uow(_settings()) as session:
        c = service.set_ci_mode(session, args.id, args.mode, actor=_actor())
    builds = "on" if c.platform_builds else "off"
    echo(f"{c.id}: CI mode {c.ci_mode} (platform Release and Preview builds {builds})")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from extci.keys import service

    settings = _settings()
    with _uow(settings) as session:
        new = service.create(
            session,
            settings.secret,
            args.component,
            name=args.name,
            expires_at=args.expires,
            actor=_actor(),
        )
    echo(f"created CI key {new.key.id} ({new.key.hint}); it is shown once", file=sys.stderr)
    echo(new.secret)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from extci.clock import utcnow
    from extci.keys import service
    from extci.pagination import every

    with _uow(_settings(), write=False) as session:
        keys = every(lambda c: service.listing(session, args.component, cursor=c, limit=200))
        now = utcnow()
        rows = [
            [
                str(k.id),
                k.name,
                k.hint,
                k.effective_status(now),
                when(k.expires_at),
                when(k.created_at),
                k.created_by,
                when(k.last_used_at),
            ]
            for k in keys
        ]
    headers = ["ID", "NAME", "KEY", "STATUS", "EXPIRES", "CREATED", "BY", "LAST USED"]
    echo(*table(headers, rows, empty="no CI keys"))
    return 0


KEY_ACTIONS = {"suspend": "suspended", "resume": "resumed", "delete": "deleted"}


def _key_action(action: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        from extci.keys import service

        with _uow(_settings()) as session:
            getattr(service, action)(session, args.component, args.key_id, actor=_actor())
        echo(f"CI key {args.key_id} of {args.component}: {KEY_ACTIONS[action]}")
        return 0

    return command


# ---- builds ---------------------------------------------------------------------------


def cmd_builds_list(args: argparse.Namespace) -> int:
    from extci.builds import service, state
    from extci.builds.service import HistoryFilter
    from extci.clock import utcnow
    from extci.components import service as components

    settings = _settings()
    with _uow(settings, write=False) as session:
        kind = components.get(session, args.component).kind
        page = service.history(
            session,
            args.component,
            filters=HistoryFilter(status=args.status, branch=args.branch, version=args.version),
            now=utcnow(),
            timeout=settings.build_inactivity_timeout,
            limit=args.limit,
        )
    rows = []
    for v in page.items:
        b = v.build
        missing = state.missing_results(kind, b.result_types) if v.status == "INCOMPLETE" else []
        rows.append(
            [
                b.pipeline_id,
                b.build_version,
                v.status,
                b.branch or "",
                (b.commit_sha or "")[:10],
                when(b.started_at),
                duration(v.duration_seconds),
                ", ".join(missing),
            ]
        )
    headers = ["PIPELINE ID", "VERSION", "STATUS", "BRANCH", "COMMIT", "STARTED", "DURATION"]
    echo(*table([*headers, "MISSING"], rows, empty=f"no builds for {args.component}"))
    return 0


def cmd_builds_show(args: argparse.Namespace) -> int:
    from extci.builds import service
    from extci.clock import utcnow

    settings = _settings()
    with _uow(settings, write=False) as session:
        d = service.detail(
            session,
            args.component,
            args.pipeline_id,
            now=utcnow(),
            timeout=settings.build_inactivity_timeout,
        )
    b = d.view.build
    actor = b.actor_username or "-"
    if b.actor_fullname:
        actor += f" ({b.actor_fullname})"
    lines = [
        f"Build {b.pipeline_id} of {b.component_id}",
        f"  version:    {b.build_version}",
        f"  status:     {d.view.status}",
        f"  pipeline:   {b.pipeline_name or '-'}",
        f"  dashboard:  {b.dashboard_url or '-'}",
        f"  actor:      {actor}",
        f"  built from: {b.branch or '-'} {b.commit_sha or ''}".rstrip(),
        f"  started:    {when(b.started_at)}",
        f"  ended:      {when(b.ended_at)}  ({duration(d.view.duration_seconds)})",
        "Required results:",
        *(f"  [{'x' if ok else ' '}] {label}" for label, ok in d.required),
        "Results:",
        *(f"  {r.type}: " + ", ".join(f"{k}={v}" for k, v in r.fields.items()) for r in d.results),
        "Events:",
        *(
            f"  {when(e.received_at)}  {e.type}" + (f"  {e.summary}" if e.summary else "")
            for e in d.events
        ),
    ]
    if d.missing and d.view.status != "BUILDING":
        lines.insert(3, f"  missing:    {', '.join(d.missing)}")
    echo(*lines)
    return 0


def cmd_builds_deployable(args: argparse.Namespace) -> int:
    from extci.builds import deployable
    from extci.builds.schemas import DeployableOut
    from extci.cli.deployable import NoImage, render
    from extci.clock import utcnow

    settings = _settings()
    query = deployable.Query(branch=args.branch, version=args.version)
    with _uow(settings, write=False) as session:
        found = deployable.newest(
            session, args.component, query, now=utcnow(), timeout=settings.build_inactivity_timeout
        )
    try:
        echo(*render(DeployableOut.of(found).model_dump(mode="json"), args.format).splitlines())
    except NoImage as exc:
        echo(f"extci: {exc}", file=sys.stderr)
        return 1
    return 0


# ---- the parser -----------------------------------------------------------------------


def register(sub: Any) -> None:
    def add(parent: Any, name: str, handler: Callable[[argparse.Namespace], int], **kw: Any) -> Any:
        p = parent.add_parser(name, **kw)
        p.set_defaults(handler=_run(handler))
        return p

    def group(name: str, help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text)
        inner = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
        inner.required = True
        return inner

    serve = add(sub, "serve", cmd_serve, help="apply migrations and start the server")
    serve.add_argument("--host", default=None, help="interface (default EXTCI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default EXTCI_PORT or 8080)")
    serve.add_argument("--workers", type=int, default=None, help="processes (EXTCI_WORKERS or 1)")

    db = group("db", "database schema")
    add(db, "upgrade", cmd_db_upgrade, help="apply migrations")

    users = group("users", "user accounts")
    p = add(users, "create", cmd_users_create, help="create a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else one is generated and printed)",
    )

    add(users, "list", cmd_users_list, help="list users, their roles and state")
    for verb, active in (("deactivate", False), ("activate", True)):
        what = "cut a user off (tokens, sessions, sign-in)" if not active else "restore a user"
        p = add(users, verb, _user_activation(active), help=what)
        p.add_argument("name")

    tokens = group("tokens", "personal access tokens")
    p = add(tokens, "create", cmd_tokens_create, help="print a new personal access token")
    p.add_argument("user")
    p.add_argument("--name", required=True)
    p.add_argument("--expires", type=parse_expiry, help="YYYY-MM-DD or ISO 8601 date-time")
    p = add(tokens, "list", cmd_tokens_list, help="list a user's personal access tokens")
    p.add_argument("--user", required=True)
    p = add(tokens, "delete", cmd_tokens_delete, help="delete a user's personal access token")
    p.add_argument("--user", required=True)
    p.add_argument("token_id", type=int)

    audit = group("audit", "the audit log: who changed what, when, from where")
    p = add(audit, "list", cmd_audit_list, help="audit entries, newest first")
    p.add_argument("--component", help="only entries about this component")
    p.add_argument("--actor", help="only this actor (a username, or cli:<OS user>)")
    p.add_argument("--action", help="only this action, e.g. key.created or user.deactivated")
    p.add_argument("--limit", type=_positive, default=50, help="at most this many (1-200)")

    comps = group("components", "components and their CI mode")
    p = add(comps, "create", cmd_components_create, help="create a component")
    p.add_argument("id", help="technical name: lowercase letters, digits and '-'")
    p.add_argument("--kind", required=True, choices=["application-component", "library"])
    p.add_argument("--name", help="display name (default: the id)")
    add(comps, "list", cmd_components_list, help="list components")
    p = add(comps, "ci-mode", cmd_components_ci_mode, help="switch CI mode")
    p.add_argument("id")
    p.add_argument("mode", choices=["external", "platform"])

    keys = group("keys", "CI keys")
    p = add(keys, "create", cmd_keys_create, help="print a new CI key")
    p.add_argument("component")
    p.add_argument("--name", required=True)
    p.add_argument("--expires", type=parse_expiry, help="YYYY-MM-DD or ISO 8601 date-time")
    p = add(keys, "list", cmd_keys_list, help="list a component's CI keys")
    p.add_argument("component")
    for action in KEY_ACTIONS:
        p = add(keys, action, _key_action(action), help=f"{action} a CI key")
        p.add_argument("component")
        p.add_argument("key_id", type=int)

    builds = group("builds", "build history")
    p = add(builds, "list", cmd_builds_list, help="a component's build history, newest first")
    p.add_argument("component")
    p.add_argument("--status", help="BUILDING, SUCCESSFUL, INCOMPLETE, FAILED, CANCELLED, LOST")
    p.add_argument("--branch")
    p.add_argument("--version")
    p.add_argument("--limit", type=_positive, default=50, help="at most this many (1-200)")
    p = add(builds, "show", cmd_builds_show, help="one build in detail")
    p.add_argument("component")
    p.add_argument("pipeline_id")
    p = add(builds, "deployable", cmd_builds_deployable, help="the newest deployable build")
    p.add_argument("component")
    p.add_argument("--branch", help="only builds of this branch")
    p.add_argument("--version", help="exact version, or a prefix ending in '.' (1.4.)")
    p.add_argument("--format", choices=DEPLOYABLE_FORMATS, default="json")
