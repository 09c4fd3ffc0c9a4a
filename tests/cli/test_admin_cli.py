"""The ``extci`` admin commands (management.md §3) on each database: in this process
(tests/support/cli_batch.py), and a few as real processes (``Extci(..., process=True)``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from extci import migrate
from extci.accounts import service as accounts
from extci.db import make_engine, make_session_factory, unit_of_work
from extci.models import Base
from tests.api.helpers import items
from tests.support import cli_batch
from tests.support import events as ev
from tests.support.api import SECRET, Api
from tests.support.cli_batch import Done
from tests.support.databases import PG_ADMIN_URL, require_postgres

CI_KEY = re.compile(r"^extci_ci_[0-9A-Za-z]{38}$")
PAT = re.compile(r"^extci_pat_[0-9A-Za-z]{38}$")
SCRIPT = Path(sys.executable).parent / "extci"


class Extci:
    """``extci`` with its own database and data directory: run in this process, or with
    ``process=True`` as a real process (the smoke tests of exit codes and the entry point)."""

    def __init__(self, database_url: str, data_dir: Path, *, process: bool = False) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EXTCI_")}
        self.env |= {
            "EXTCI_DATABASE_URL": database_url,
            "EXTCI_DATA_DIR": str(data_dir),
            "EXTCI_SECRET_KEY": SECRET,
        }
        self.cwd = data_dir
        self.process = process

    def __call__(self, *args: str, stdin: str | None = None) -> Done:
        if not self.process:
            return cli_batch.run(args, env=self.env, cwd=self.cwd, stdin=stdin or "")
        command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "extci.cli.main"]
        done = subprocess.run(
            [*command, *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=120,
        )
        return Done(list(args), done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self(*args, stdin=stdin)
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout


@pytest.fixture
def extci(database_url: str, tmp_path: Path) -> Extci:
    return Extci(database_url, tmp_path)


def lines(stdout: str) -> list[str]:
    return stdout.strip("\n").splitlines()


def check_password(database_url: str, username: str, password: str) -> bool:
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return accounts.check_password(session, username, password) is not None
    finally:
        engine.dispose()


# ---- help, errors, db -----------------------------------------------------------------


def test_help_lists_the_commands(tmp_path: Path) -> None:
    run = Extci(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    out = run.ok("--help")
    for command in ("serve", "db", "users", "tokens", "components", "keys", "builds"):
        assert command in out
    sub = run.ok("keys", "--help")
    for action in ("create", "list", "suspend", "resume", "delete"):
        assert action in sub
    assert "--password-stdin" in run.ok("users", "create", "--help")
    assert not (tmp_path / "unused.db").exists()  # --help touches no database


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    run = Extci(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, process=True)  # a real exit code
    done = run("users", "create", "bob", "--role", "god")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
    assert run("nonsense").returncode == 2
    assert run("keys", "suspend", "c", "not-a-number").returncode == 2


def test_db_upgrade_builds_an_empty_sqlite_database(tmp_path: Path) -> None:
    target = tmp_path / "fresh.db"
    run = Extci(f"sqlite:///{target}", tmp_path, process=True)  # the entry point, for real
    done = run("db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    engine = create_engine(f"sqlite:///{target}")
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert revision
    assert run("db", "upgrade").returncode == 0  # idempotent


@pytest.mark.postgres
def test_db_upgrade_builds_an_empty_postgres_database(tmp_path: Path) -> None:
    require_postgres()
    name = f"extci_cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        run = Extci(url, tmp_path)
        assert run("db", "upgrade").returncode == 0
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        assert run("db", "upgrade").returncode == 0
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


NEEDS_SCHEMA = [
    ("components", "list"),
    ("components", "create", "orders", "--kind", "library"),
    ("users", "create", "carol", "--role", "viewer", "--password-stdin"),
    ("tokens", "create", "carol", "--name", "x"),
    ("keys", "list", "orders"),
    ("builds", "list", "orders"),
]


def test_admin_commands_never_migrate_an_empty_database(tmp_path: Path) -> None:
    target = tmp_path / "empty.db"
    run = Extci(f"sqlite:///{target}", tmp_path)
    for args in NEEDS_SCHEMA:
        done = run(*args, stdin="long enough password\n")
        assert done.returncode == 78, (args, done.stdout, done.stderr)  # EX_CONFIG
        assert "extci db upgrade" in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stdout == ""
    assert not target.exists()  # not even an empty file was left behind

    run.ok("db", "upgrade")
    assert "no components" in run.ok("components", "list")
    run.ok("components", "create", "orders", "--kind", "library")
    assert "orders" in run.ok("components", "list")


def test_admin_commands_refuse_an_older_schema(tmp_path: Path) -> None:
    target = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{target}")
    migrate.upgrade(engine, "0001")
    engine.dispose()
    run = Extci(f"sqlite:///{target}", tmp_path)
    done = run("components", "list")
    assert done.returncode == 78, (done.stdout, done.stderr)  # EX_CONFIG
    assert "0001" in done.stderr
    assert "extci db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert revision == "0001"  # still where it was
    run.ok("db", "upgrade")
    assert "no components" in run.ok("components", "list")


def test_db_upgrade_on_a_migrated_database(extci: Extci) -> None:
    done = extci("db", "upgrade")
    assert done.returncode == 0, done.stderr


def test_unknown_component_is_a_readable_error(extci: Extci) -> None:
    for args in (
        ("keys", "list", "nope"),
        ("keys", "create", "nope", "--name", "ci"),
        ("components", "ci-mode", "nope", "external"),
        ("builds", "list", "nope"),
        ("builds", "show", "nope", "p1"),
    ):
        done = extci(*args)
        assert done.returncode == 66, (args, done.stderr)  # EX_NOINPUT: 404
        assert "nope" in done.stderr
        assert "does not exist" in done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout == ""


# ---- users and tokens -----------------------------------------------------------------


def test_users_create_prints_the_generated_password_alone(
    database_url: str, tmp_path: Path
) -> None:
    extci = Extci(database_url, tmp_path, process=True)  # stdout and exit codes of a process
    done = extci("users", "create", "carol", "--role", "editor")
    assert done.returncode == 0, done.stderr
    out = lines(done.stdout)
    assert len(out) == 1
    password = out[0]
    assert len(password) >= 12
    assert " " not in password
    assert check_password(database_url, "carol", password)
    assert not check_password(database_url, "carol", password + "x")

    again = extci("users", "create", "carol", "--role", "viewer")
    assert again.returncode == 65  # EX_DATAERR: 409
    assert "already exists" in again.stderr
    assert again.stdout == ""


def test_users_create_password_stdin(extci: Extci, database_url: str) -> None:
    done = extci(
        "users", "create", "dave", "--role", "admin", "--password-stdin", stdin="s3cret-enough\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert check_password(database_url, "dave", "s3cret-enough")
    short = extci("users", "create", "eve", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.returncode == 65  # 400
    assert "password" in short.stderr.lower()


def test_tokens_create_prints_a_working_token(extci: Extci, api: Api) -> None:
    extci.ok("users", "create", "carol", "--role", "editor")
    out = lines(extci.ok("tokens", "create", "carol", "--name", "laptop"))
    assert len(out) == 1
    token = out[0]
    assert PAT.fullmatch(token), token
    headers = {"Authorization": f"Bearer {token}"}
    r = api.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "carol"
    assert r.json()["role"] == "editor"
    listed = items(api.client.get("/api/v1/tokens", headers=headers))
    assert [(t["name"], t["expiresAt"]) for t in listed] == [("laptop", None)]


def test_tokens_create_with_expiry_and_unknown_user(extci: Extci, api: Api) -> None:
    extci.ok("users", "create", "carol", "--role", "viewer")
    token = extci.ok("tokens", "create", "carol", "--name", "ci", "--expires", "2099-01-31").strip()
    headers = {"Authorization": f"Bearer {token}"}
    [item] = items(api.client.get("/api/v1/tokens", headers=headers))
    assert item["expiresAt"].startswith("2099-0")
    done = extci("tokens", "create", "nobody", "--name", "x")
    assert done.returncode == 66  # 404
    assert "nobody" in done.stderr
    assert done.stdout == ""
    bad = extci("tokens", "create", "carol", "--name", "x", "--expires", "someday")
    assert bad.returncode == 2


# ---- components -----------------------------------------------------------------------


def test_components_create_list_ci_mode(extci: Extci, api: Api) -> None:
    assert "no components" in extci.ok("components", "list")
    extci.ok(
        "components",
        "create",
        "orders-service",
        "--kind",
        "application-component",
        "--name",
        "Orders",
    )
    extci.ok("components", "create", "util-lib", "--kind", "library")
    listing = lines(extci.ok("components", "list"))
    assert listing[0].split()[:1] == ["ID"]
    rows = [row.split() for row in listing[1:]]
    assert rows == [
        ["util-lib", "util-lib", "library", "platform"],
        ["orders-service", "Orders", "application-component", "platform"],
    ]

    out = extci.ok("components", "ci-mode", "orders-service", "external")
    assert "external" in out
    assert "external" in lines(extci.ok("components", "list"))[2]
    h = api.token("viewer")
    body = api.client.get("/api/v1/components/orders-service", headers=h).json()
    assert (body["name"], body["ciMode"], body["platformBuilds"]) == ("Orders", "external", False)

    extci.ok("components", "ci-mode", "orders-service", "platform")
    body = api.client.get("/api/v1/components/orders-service", headers=h).json()
    assert body["ciMode"] == "platform"


def test_components_create_errors(extci: Extci) -> None:
    bad = extci("components", "create", "Bad_Id", "--kind", "library")
    assert bad.returncode == 65  # 400
    assert "/id" in bad.stderr
    assert "Traceback" not in bad.stderr
    extci.ok("components", "create", "dup", "--kind", "library")
    dup = extci("components", "create", "dup", "--kind", "library")
    assert dup.returncode == 65  # 409
    assert "already exists" in dup.stderr
    assert extci("components", "create", "x", "--kind", "service").returncode == 2
    assert extci("components", "ci-mode", "dup", "sideways").returncode == 2


# ---- keys -----------------------------------------------------------------------------


def test_keys_lifecycle(extci: Extci, api: Api) -> None:
    extci.ok("components", "create", "orders-service", "--kind", "application-component")
    refused = extci("keys", "create", "orders-service", "--name", "ci")
    assert refused.returncode == 65  # 409
    assert "External CI" in refused.stderr or "platform" in refused.stderr
    assert refused.stdout == ""

    extci.ok("components", "ci-mode", "orders-service", "external")
    assert "no CI keys" in extci.ok("keys", "list", "orders-service")
    created = extci("keys", "create", "orders-service", "--name", "jenkins")
    assert created.returncode == 0, created.stderr
    out = lines(created.stdout)
    assert len(out) == 1
    key = out[0]
    assert CI_KEY.fullmatch(key), key
    assert api.send(ev.start("p1", "orders-service"), key).status_code == 200

    h = api.token("viewer")
    [item] = items(api.client.get("/api/v1/components/orders-service/ci-keys", headers=h))
    key_id = str(item["id"])
    listing = extci.ok("keys", "list", "orders-service")
    assert key not in listing
    row = next(line for line in lines(listing) if line.startswith(key_id + " "))
    assert "jenkins" in row
    assert item["hint"] in row
    assert "ACTIVE" in row

    extci.ok("keys", "suspend", "orders-service", key_id)
    assert "SUSPENDED" in extci.ok("keys", "list", "orders-service")
    assert api.send(ev.end("p1"), key).status_code == 401
    extci.ok("keys", "resume", "orders-service", key_id)
    assert "ACTIVE" in extci.ok("keys", "list", "orders-service")
    assert api.send(ev.end("p1", "FAILED"), key).status_code == 200
    extci.ok("keys", "delete", "orders-service", key_id)
    assert "no CI keys" in extci.ok("keys", "list", "orders-service")
    assert api.send(ev.start("p2", "orders-service"), key).status_code == 401

    gone = extci("keys", "delete", "orders-service", key_id)
    assert gone.returncode == 66  # 404
    assert key_id in gone.stderr


def test_keys_create_with_expiry(extci: Extci, api: Api) -> None:
    api.component("orders-service")
    key = extci.ok(
        "keys", "create", "orders-service", "--name", "ci", "--expires", "2099-12-31"
    ).strip()
    assert CI_KEY.fullmatch(key)
    [item] = items(
        api.client.get("/api/v1/components/orders-service/ci-keys", headers=api.token("viewer"))
    )
    assert item["expiresAt"].startswith("2100-01-01") or item["expiresAt"].startswith("2099-12-31")
    past = extci("keys", "create", "orders-service", "--name", "old", "--expires", "2001-01-01")
    assert past.returncode == 65  # 400
    assert "past" in past.stderr


# ---- builds ---------------------------------------------------------------------------


def test_builds_list_and_show(extci: Extci, api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    assert "no builds" in extci.ok("builds", "list", "orders-service")
    api.send(ev.start("jobs/orders/41", "orders-service", "1.3.0"), key)
    api.send(ev.result("jobs/orders/41", ev.git_revision(), ev.artifact("container")), key)
    api.send(ev.end("jobs/orders/41"), key)
    api.send(ev.start("jobs/orders/42", "orders-service", "1.4.0"), key)
    api.send(ev.result("jobs/orders/42", *ev.deployable()), key)
    assert api.send(ev.end("jobs/orders/42"), key).json()["buildStatus"] == "SUCCESSFUL"

    listing = lines(extci.ok("builds", "list", "orders-service"))
    assert "PIPELINE ID" in listing[0]
    rows = [line.split() for line in listing[1:]]
    assert [r[0] for r in rows] == ["jobs/orders/42", "jobs/orders/41"]
    assert rows[0][1:3] == ["1.4.0", "SUCCESSFUL"]
    assert rows[1][1:3] == ["1.3.0", "INCOMPLETE"]
    assert rows[1][-1] == "helm"
    filtered = lines(extci.ok("builds", "list", "orders-service", "--status", "INCOMPLETE"))
    assert [line.split()[0] for line in filtered[1:]] == ["jobs/orders/41"]

    show = extci.ok("builds", "show", "orders-service", "jobs/orders/41")
    assert "jobs/orders/41" in show
    assert "1.3.0" in show
    assert "INCOMPLETE" in show
    assert re.search(r"missing:\s+helm", show)
    assert "container" in show
    assert "Jane Doe" in show
    assert "codenow.ci.end.event" in show

    assert [
        line.split()[0]
        for line in lines(extci.ok("builds", "list", "orders-service", "--limit", "1"))[1:]
    ] == ["jobs/orders/42"]

    done = extci("builds", "show", "orders-service", "jobs/orders/99")
    assert done.returncode == 66  # 404
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", ""])
def test_builds_list_limit_out_of_range_is_a_usage_error(tmp_path: Path, limit: str) -> None:
    run = Extci(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    done = run("builds", "list", "orders-service", "--limit", limit)
    assert not (tmp_path / "unused.db").exists()  # refused before any database work
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "--limit" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
