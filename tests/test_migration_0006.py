"""Migration 0006 on a database that already has users: names differing only in case are
refused with a message naming them, before anything changes; otherwise users become
active and keep their tokens. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text

from extci import migrate
from extci.errors import Conflict


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
