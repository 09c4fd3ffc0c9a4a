"""The data directory is private (issue 8, finding 12): a real ``extci serve`` started with
a permissive umask creates its directory 0700 and its database, WAL, shared-memory file
and secret key 0600. (SQLite only: PostgreSQL keeps no files of ours.)"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from extci.config import Settings, create_secret_key
from extci.datadir import prepare_sqlite_file
from tests.support.live import LiveServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.slow
@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_a_new_data_directory_and_its_files_are_private(tmp_path: Path, mask: int) -> None:
    data = tmp_path / "srv" / "var"  # neither exists yet: extci creates both
    env = {"EXTCI_DATA_DIR": str(data), "EXTCI_DATABASE_URL": f"sqlite:///{data / 'extci.db'}"}
    with umask(mask):
        server = LiveServer(tmp_path / "srv", extra_env=env).start()
    try:
        server.request("POST", "/api/v1/components", {"id": "orders", "kind": "library"})
        files = {p.name: mode(p) for p in data.iterdir() if p.is_file()}
        assert mode(data) == 0o700
        # the server holds its connections open: the WAL and shared memory exist now
        for name in ("extci.db", "extci.db-wal", "extci.db-shm", "secret_key"):
            assert files.get(name) == 0o600, (name, files)
        assert all(m & 0o077 == 0 for m in files.values()), files
    finally:
        server.stop()


def test_what_an_operator_made_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)  # noqa: S103 - an operator's own choice, on purpose
    existing = shared / "extci.db"
    existing.touch()
    os.chmod(existing, 0o640)
    prepare_sqlite_file(existing)
    assert (mode(shared), mode(existing)) == (0o750, 0o640)


def test_reading_the_settings_never_writes_the_secret_key(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with pytest.raises(ValueError, match="does not exist"):
        _ = Settings(data_dir=data).hmac_key
    assert not data.exists()
    create_secret_key(Settings(data_dir=data))  # what a start does, once
    key = Settings(data_dir=data).hmac_key
    assert len(key) >= 32
    assert mode(data / "secret_key") == 0o600
    create_secret_key(Settings(data_dir=data))  # the next start keeps it
    assert Settings(data_dir=data).hmac_key == key
    assert Settings(data_dir=data, secret_key="k" * 32).hmac_key == b"k" * 32
