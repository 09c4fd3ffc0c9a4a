"""Storage settings the receiver's durability promise rests on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from extci.components.models import Component
from extci.db import make_engine, make_session_factory, unit_of_work


def test_sqlite_is_wal_full_sync_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 15000,
    }


def test_write_units_take_the_sqlite_write_lock_up_front(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    seen: list[str] = []
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")

    event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: seen.append(stmt))
    factory = make_session_factory(engine)
    with unit_of_work(factory, write=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    with unit_of_work(factory) as session:
        session.execute(text("SELECT x FROM t"))
    engine.dispose()
    assert seen[0] == "BEGIN IMMEDIATE"
    assert "BEGIN" in seen[2:]


def test_unit_of_work_rolls_back_when_the_block_raises(database_url: str) -> None:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(RuntimeError), unit_of_work(factory, write=True) as session:
        session.add(Component(id="a", name="a", kind="library", created_at=now, updated_at=now))
        session.flush()
        raise RuntimeError("boom")
    with unit_of_work(factory) as session:
        assert session.execute(select(Component)).first() is None
    with unit_of_work(factory, write=True) as session:
        session.add(Component(id="b", name="b", kind="library", created_at=now, updated_at=now))
    with unit_of_work(factory) as session:
        stored = session.execute(select(Component)).scalar_one()
    engine.dispose()
    # Times come back aware and in UTC on both databases.
    assert stored.created_at == now
    assert stored.created_at.tzinfo is not None
