"""Operations commands, local only (they work on this machine's database and files):
``extci db copy|backup|restore`` and ``extci builds prune``. The services are in
:mod:`extci.maintenance` and :mod:`extci.builds.retention`."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from extci.cli.admin import local_only, require_server
from extci.cli.commands import Handler, add, group
from extci.cli.errors import ApiError
from extci.cli.output import echo, table, when


def _duration(text: str) -> timedelta:
    require_server()  # the server's syntax (180d), read while the arguments are parsed
    from extci.config import parse_optional_duration

    try:
        value = parse_optional_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 180d")
    return value


def _domain_errors(command: Handler) -> Handler:
    """A domain error (a refused target, a non-empty directory) is a one-line problem."""

    def handler(args: argparse.Namespace) -> int:
        from extci.errors import ExtciError

        try:
            return command(args)
        except ExtciError as error:
            raise ApiError(error.problem()) from None

    return handler


def _engine() -> Any:
    from extci.config import Settings
    from extci.runtime import engine_for

    return engine_for(Settings())


def cmd_db_copy(args: argparse.Namespace) -> int:
    from extci.db import make_engine
    from extci.errors import ValidationFailed
    from extci.maintenance.copy import copy_installation

    if not args.to.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ValidationFailed("--to must be a PostgreSQL URL (postgresql://user@host/db).")
    source, target = _engine(), make_engine(args.to)
    try:
        copied = copy_installation(
            source, target, progress=lambda line: echo(f"copied {line}", file=sys.stderr)
        )
    finally:
        source.dispose()
        target.dispose()
    rows = [
        [c.table, str(c.rows), c.checksum[:16], "ok" if c.verified else "MISMATCH"] for c in copied
    ]
    echo(*table(["TABLE", "ROWS", "SHA-256", "CHECK"], rows, empty="no tables"))
    bad = [c.table for c in copied if not c.verified]
    if bad:
        echo(f"extci: the copy differs from the source in {', '.join(bad)}", file=sys.stderr)
        return 1
    total = sum(c.rows for c in copied)
    echo(
        f"copied {total} rows in {len(copied)} tables; counts and checksums match. "
        "Start the servers with EXTCI_DATABASE_URL set to the new database and the same "
        "secret key.",
        file=sys.stderr,
    )
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from extci.config import Settings
    from extci.maintenance.backup import backup

    report = backup(Settings(), Path(args.path))
    echo(
        f"backed up {report.builds} builds to {report.path} "
        f"({report.bytes} bytes in {report.seconds:.2f} s)",
        file=sys.stderr,
    )
    if report.secret_key_copied:
        echo(f"the secret key is beside it: {report.path}.secret_key (keep both)", file=sys.stderr)
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from extci.config import Settings
    from extci.maintenance.backup import restore

    settings = Settings()
    builds = restore(settings, Path(args.path))
    echo(f"restored {builds} builds into {settings.data_dir}", file=sys.stderr)
    return 0


def cmd_builds_prune(args: argparse.Namespace) -> int:
    from extci import migrate
    from extci.builds import retention

    engine = _engine()
    try:
        migrate.ensure_current(engine)
        if args.dry_run:
            found = retention.preview(engine, args.older_than)
            echo(
                *table(
                    ["COMPONENT", "BUILDS", "NEWEST LAST EVENT"],
                    [[p.component_id, str(p.builds), when(p.newest_last_event)] for p in found],
                    empty="nothing is old enough to prune",
                )
            )
            total = sum(p.builds for p in found)
            echo(f"{total} builds would be deleted (dry run: nothing deleted)", file=sys.stderr)
            return 0
        deleted = retention.prune(engine, args.older_than)
    finally:
        engine.dispose()
    echo(f"deleted {deleted} builds", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    def local(group_: Any, name: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        return add(group_, name, local_only(_domain_errors(handler)), output=False, **kw)

    db = group(sub, "db", "database schema (local only)")
    p = local(db, "copy", cmd_db_copy, help="copy this installation into an empty PostgreSQL")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/database")
    p = local(db, "backup", cmd_db_backup, help="consistent online backup of a SQLite database")
    p.add_argument("path", help="the backup file to write (must not exist)")
    p = local(db, "restore", cmd_db_restore, help="restore a backup into an empty data directory")
    p.add_argument("path", help="a file written by 'extci db backup'")

    builds = group(sub, "builds", "build history")
    p = local(builds, "prune", cmd_builds_prune, help="delete old builds (keeps the newest ones)")
    p.add_argument("--older-than", type=_duration, required=True, help="e.g. 180d")
    p.add_argument("--dry-run", action="store_true", help="show what would be deleted")
