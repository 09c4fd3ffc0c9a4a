"""Migration 0006 on a database that already has users: names differing only in case are
refused with a message naming them, before anything changes; otherwise users become
active and keep their tokens. On SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from extci import migrate
from extci.db import make_engine
from extci.errors import Conflict
from tests.support.databases import PG_ADMIN_URL, require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        migrate.upgrade(engine, "0004")
        yield engine
        engine.dispose()
        return
    require_postgres()
    name = f"extci_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        migrate.upgrade(engine, "0004")
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_user(engine: Engine, username: str) -> int:
    with engine.begin() as conn:
        user_id: int = conn.execute(
            text(
                "INSERT INTO users (username, password_hash, role, created_at) "
                "VALUES (:u, 'x', 'admin', :t) RETURNING id"
            ),
            {"u": username, "t": datetime.now(UTC)},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO tokens (user_id, name, token_hash, hint, created_at) "
                "VALUES (:id, 't', :h, 'hint', :t)"
            ),
            {"id": user_id, "h": f"hash-{username}", "t": datetime.now(UTC)},
        )
    return user_id


def revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def test_names_differing_only_in_case_stop_the_upgrade_until_renamed(
    engine_at_0004: Engine,
) -> None:
    engine = engine_at_0004
    first = add_user(engine, "admin")
    second = add_user(engine, "Admin")
    add_user(engine, "carol")

    with pytest.raises(Conflict) as refused:
        migrate.upgrade(engine)
    message = refused.value.detail
    assert f"admin (id {first})" in message
    assert f"Admin (id {second})" in message
    assert "carol" not in message
    assert "UPDATE users SET username" in message
    assert revision(engine) == "0004"
    assert "active" not in {c["name"] for c in inspect(engine).get_columns("users")}
    assert "audit_entries" not in inspect(engine).get_table_names()

    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET username = 'admin-2' WHERE id = :id"), {"id": second})
    migrate.upgrade(engine)
    assert revision(engine) == "0006"
    with engine.connect() as conn:
        users = conn.execute(text("SELECT username, active FROM users ORDER BY id")).all()
        tokens = conn.execute(text("SELECT count(*) FROM tokens")).scalar_one()
    assert [(name, bool(active)) for name, active in users] == [
        ("admin", True),
        ("admin-2", True),
        ("carol", True),
    ]
    assert tokens == 3  # nothing cascaded away
