"""What a PostgreSQL error means to the client (``extci.problems.problem_for``), with each error
provoked for real on a real PostgreSQL, not built by hand: a lost race on a unique or
foreign key is 409; a value the database cannot hold is 400; a serialisation failure, a
deadlock, a statement cancelled by its timeout, a connection the administrator ended and too
many connections are transient, 503 with Retry-After; anything else is a server bug (None,
a 500)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from extci.db import make_engine
from extci.problems import problem_for
from tests.support.databases import PG_ADMIN_URL, require_postgres

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE parent (id integer PRIMARY KEY, value integer NOT NULL DEFAULT 0);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id),
                    name varchar(5));
INSERT INTO parent (id) VALUES (1), (2);
"""


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    """A scratch database of this module's own, with two small tables."""
    require_postgres()
    name = f"extci_errors_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    setup = create_engine(url, poolclass=NullPool)
    with setup.begin() as conn:
        conn.exec_driver_sql(SCHEMA)
    setup.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(scratch_url: str) -> Iterator[Engine]:
    """The engine as the server makes it (its pool, pre-ping, driver)."""
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM child"))
        conn.execute(text("UPDATE parent SET value = 0"))
    yield engine
    engine.dispose()


def provoke(action: Callable[[], object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised:
        action()
    return raised.value


def status_of(error: DBAPIError) -> int | None:
    problem = problem_for(error)
    if problem is None:
        return None
    if problem.status == 503:
        assert problem.headers["retry-after"].isdigit()
    return problem.status


def sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def run(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


# ---- 409: a constraint that fired anyway lost a race ---------------------------------


def test_a_unique_violation_is_409(engine: Engine) -> None:
    run(engine, "INSERT INTO child (id, parent_id) VALUES (1, 1)")
    error = provoke(lambda: run(engine, "INSERT INTO child (id, parent_id) VALUES (1, 2)"))
    assert sqlstate(error) == "23505"
    assert status_of(error) == 409


def test_a_foreign_key_violation_is_409(engine: Engine) -> None:
    error = provoke(lambda: run(engine, "INSERT INTO child (id, parent_id) VALUES (1, 99)"))
    assert sqlstate(error) == "23503"
    assert status_of(error) == 409


# ---- 400: a value the database cannot hold -------------------------------------------


def test_a_value_too_long_is_400(engine: Engine) -> None:
    error = provoke(
        lambda: run(engine, "INSERT INTO child (id, parent_id, name) VALUES (1, 1, 'far too long')")
    )
    assert sqlstate(error) == "22001"
    assert status_of(error) == 400


def test_a_nul_character_is_400(engine: Engine) -> None:
    def insert() -> None:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO child (id, parent_id, name) VALUES (1, 1, :name)"),
                {"name": "a\x00b"},
            )

    assert status_of(provoke(insert)) == 400


# ---- 503: transient, nothing was stored, retry ---------------------------------------


Step = Callable[[Connection], None]


def _hold_row_then(engine: Engine, first: Step, second: Step) -> None:
    """Two transactions that each take a row, then want the other's: one is the deadlock
    victim (``second`` runs in a thread)."""
    a_has_row = threading.Event()
    b_has_row = threading.Event()
    failures: list[BaseException] = []

    def take(row: int, mine: threading.Event, theirs: threading.Event, then: Step) -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE parent SET value = 1 WHERE id = :id"), {"id": row})
            mine.set()
            theirs.wait(10)
            then(conn)

    def other() -> None:
        try:
            take(2, b_has_row, a_has_row, second)
        except BaseException as exc:
            failures.append(exc)
            b_has_row.set()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        take(1, a_has_row, b_has_row, first)
    finally:
        thread.join(30)
    if failures:
        raise failures[0]


def test_a_deadlock_is_503(engine: Engine) -> None:
    def take(row: int) -> Step:
        update = text("UPDATE parent SET value = 2 WHERE id = :row")
        return lambda conn: conn.execute(update, {"row": row})

    error = provoke(lambda: _hold_row_then(engine, take(2), take(1)))
    assert sqlstate(error) == "40P01"
    assert status_of(error) == 503


def test_a_serialisation_failure_is_503(engine: Engine) -> None:
    serializable = engine.execution_options(isolation_level="SERIALIZABLE")
    with serializable.connect() as first, serializable.connect() as second:
        first.begin()
        second.begin()
        # Write skew: each reads what the other writes.
        first.execute(text("SELECT sum(value) FROM parent")).scalar_one()
        second.execute(text("SELECT sum(value) FROM parent")).scalar_one()
        first.execute(text("UPDATE parent SET value = value + 1 WHERE id = 1"))
        second.execute(text("UPDATE parent SET value = value + 1 WHERE id = 2"))
        first.commit()
        error = provoke(second.commit)
    assert sqlstate(error) == "40001"
    assert status_of(error) == 503


def test_a_statement_cancelled_by_its_timeout_is_503(engine: Engine) -> None:
    def slow() -> None:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL statement_timeout = '50ms'"))
            conn.execute(text("SELECT pg_sleep(5)"))

    error = provoke(slow)
    assert sqlstate(error) == "57014"
    assert status_of(error) == 503


def test_a_lock_timeout_is_503(engine: Engine) -> None:
    holder = engine.connect()
    try:
        holder.begin()
        holder.execute(text("SELECT * FROM parent WHERE id = 1 FOR UPDATE"))

        def wait_for_the_lock() -> None:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
                conn.execute(text("UPDATE parent SET value = 3 WHERE id = 1"))

        error = provoke(wait_for_the_lock)
    finally:
        holder.rollback()
        holder.close()
    assert sqlstate(error) == "55P03"
    assert status_of(error) == 503


def test_a_connection_the_administrator_ended_is_503(engine: Engine) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as a:
                a.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            error = provoke(lambda: conn.execute(text("SELECT 1")))
    finally:
        admin.dispose()
    assert status_of(error) == 503


@pytest.fixture
def limited_role(scratch_url: str) -> Iterator[str]:
    """A login role allowed no connection at all: PostgreSQL's 'too many connections'."""
    role = f"extci_limited_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
    try:
        yield scratch_url.replace("://postgres@", f"://{role}@", 1)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def test_too_many_connections_is_503(limited_role: str) -> None:
    engine = make_engine(limited_role)
    try:
        error = provoke(lambda: engine.connect().close())
    finally:
        engine.dispose()
    assert "too many connections" in str(error.orig)
    assert status_of(error) == 503


# ---- None: a server bug, answered 500 ------------------------------------------------


def test_a_programming_error_is_not_mapped(engine: Engine) -> None:
    error = provoke(lambda: run(engine, "SELECT no_such_column FROM parent"))
    assert sqlstate(error) == "42703"
    assert status_of(error) is None
