"""``extci db backup PATH`` and ``extci db restore PATH`` for SQLite installations.

The backup is SQLite's online backup API in one step: it reads one consistent snapshot
while the server keeps running (in WAL mode readers do not block the writer, and the writer
does not block this reader), into ``PATH.partial``, checked with ``PRAGMA integrity_check``
and then renamed to ``PATH``, so ``PATH`` is always a whole backup. When the secret key
lives in the data directory it is copied beside it, as ``PATH.secret_key``: without it the
restored CI keys and tokens would not work. Both files are private (0600).

PostgreSQL installations use ``pg_dump``/``pg_restore`` (docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from extci.config import Settings
from extci.datadir import PRIVATE_FILE, prepare_sqlite_file, private_file
from extci.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_path
from extci.errors import Conflict, ValidationFailed

SIDECAR_SUFFIX = ".secret_key"
PG_HINT = "for PostgreSQL use pg_dump and pg_restore (docs/operations.md)"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    seconds: float
    builds: int
    secret_key_copied: bool


def _database_file(settings: Settings) -> Path:
    path = sqlite_path(settings.resolved_database_url)
    if path is None:
        raise ValidationFailed(f"This installation is not on a SQLite file: {PG_HINT}.")
    return path


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def _check(conn: sqlite3.Connection, what: str) -> int:
    """Raise unless ``conn`` holds a sound extci database; its number of builds."""
    try:
        status = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.execute("SELECT version_num FROM alembic_version").fetchone()
        builds: int = conn.execute("SELECT count(*) FROM builds").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(f"{what} is not an extci database: {exc}") from None
    if status != "ok":
        raise ValidationFailed(f"{what} failed its integrity check: {status}")
    return builds


def backup(settings: Settings, target: Path) -> BackupReport:
    source = _database_file(settings)
    if not source.exists():
        raise ValidationFailed(f"No extci database at {source}.")
    if target.exists():
        raise Conflict(f"{target} exists; back up to a new file.")
    started = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    private_file(partial)
    src = _connect(source)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        builds = _check(dst, "The backup")
    finally:
        dst.close()
        src.close()
    os.replace(partial, target)
    secret = settings.data_dir / "secret_key"
    copied = not settings.secret_key and secret.exists()
    if copied:
        _copy_private(secret, target.with_name(target.name + SIDECAR_SUFFIX))
    return BackupReport(target, target.stat().st_size, time.monotonic() - started, builds, copied)


def restore(settings: Settings, backup_path: Path) -> int:
    """Put a backup in place as this installation's database; the number of builds."""
    target = _database_file(settings)
    if not backup_path.is_file():
        raise ValidationFailed(f"No backup at {backup_path}.")
    for directory in {settings.data_dir, target.parent}:
        if directory.exists() and any(directory.iterdir()):
            raise Conflict(
                f"{directory} is not empty; restore into an empty data directory "
                "(EXTCI_DATA_DIR) so that nothing is overwritten."
            )
    src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    try:
        _check(src, str(backup_path))
        prepare_sqlite_file(target)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            builds = _check(dst, "The restored database")
        finally:
            dst.close()
    finally:
        src.close()
    secret = backup_path.with_name(backup_path.name + SIDECAR_SUFFIX)
    if secret.exists() and not settings.secret_key:
        _copy_private(secret, settings.data_dir / "secret_key")
    return builds


def _copy_private(source: Path, target: Path) -> None:
    private_file(target)
    shutil.copyfile(source, target)
    os.chmod(target, PRIVATE_FILE)
