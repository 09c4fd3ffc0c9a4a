"""The data directory and the files extci creates in it are private to the user it runs as.

They hold argon2 password hashes, the keyed hashes of CI keys and tokens, the secret key and
every build: the directory is made 0700 and its files 0600 whatever the umask. Only what
extci creates is set; a directory or database an operator made keeps the modes they chose.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` as a 0700 directory unless it exists. Missing parents are created as
    the umask says: they may be shared ones, like /var/lib."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        return  # another process made it first
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode went through the umask


def private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when this call made it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)  # os.open's mode went through the umask
    finally:
        os.close(fd)
    return True


def prepare_sqlite_file(path: Path) -> None:
    """Before SQLite opens ``path``: its directory 0700 and the database file 0600 if extci
    is the one creating them. SQLite creates the -wal and -shm files with the database
    file's own mode (and sets it on them regardless of the umask), so they follow."""
    private_dir(path.parent)
    private_file(path)
