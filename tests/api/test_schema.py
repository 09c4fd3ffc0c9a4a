"""The schema the migrations build is the schema the models describe; secrets stay hashed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import IntegrityError

from extci.accounts.models import User
from extci.models import Base
from tests.support import events as ev
from tests.support.api import Api


# SQLite cannot reflect an expression index (lower(username)): SQLAlchemy and Alembic say so
# and skip it there; PostgreSQL compares it, and test_usernames_... below checks it on both.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_and_models_agree(database_url: str) -> None:
    # database_url is a database built by extci.migrate.upgrade (tests/support/databases.py)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            diff = compare_metadata(context, Base.metadata)
            tables = set(context.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert diff == [], diff
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_usernames_are_unique_ignoring_case_in_the_database(database_url: str) -> None:
    """The index itself, below the service: a second ``ADMIN`` cannot be written at all."""
    engine = create_engine(database_url)
    row = {"password_hash": "x", "role": "viewer", "created_at": datetime.now(UTC)}
    try:
        with engine.begin() as conn:
            conn.execute(insert(User).values(username="admin", **row))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(User).values(username="ADMIN", **row))
        with engine.begin() as conn:
            conn.execute(insert(User).values(username="admin2", **row))
            names = conn.execute(select(User.username, User.active)).all()
    finally:
        engine.dispose()
    assert sorted(names) == [("admin", True), ("admin2", True)]  # active by default


def test_secrets_are_not_stored_in_plaintext(api: Api) -> None:
    admin = api.token("admin")
    h = {**admin}
    api.component("orders-service")
    key = api.client.post(
        "/api/v1/components/orders-service/ci-keys", json={"name": "ci"}, headers=h
    ).json()["key"]
    token = api.client.post("/api/v1/tokens", json={"name": "t"}, headers=h).json()["token"]
    password = "a long and memorable password"
    r = api.client.post(
        "/api/v1/users",
        json={"username": "dora", "role": "viewer", "password": password},
        headers=h,
    )
    assert r.status_code == 201
    generated = api.client.post(
        "/api/v1/users", json={"username": "gen", "role": "viewer"}, headers=h
    ).json()["password"]
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200
    bearer = admin["Authorization"].removeprefix("Bearer ")

    secrets = {
        "ci key": key,
        "ci key random part": key[len("extci_ci_") : -6],
        "token": token,
        "token random part": token[len("extci_pat_") : -6],
        "fixture token": bearer,
        "password": password,
        "generated password": generated,
    }
    cells = 0
    with api.runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    cells += 1
                    text = str(value)
                    for what, secret in secrets.items():
                        assert secret not in text, f"{what} stored in {table.name}"
    assert cells > 20  # the scan did see the rows
