"""``extci users deactivate|activate|list``, ``extci tokens list|delete --user`` and
``extci audit list``, on each database (issue 8), in this process (tests/support/cli_batch.py)."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from tests.cli.test_admin_cli import Extci, lines
from tests.support.api import Api

PASSWORD = "long enough password\n"


@pytest.fixture
def extci(database_url: str, tmp_path: Path) -> Extci:
    return Extci(database_url, tmp_path)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_users_deactivate_and_activate(extci: Extci, api: Api) -> None:
    extci.ok("users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    extci.ok("users", "create", "carol", "--role", "editor", "--password-stdin", stdin=PASSWORD)
    token = extci.ok("tokens", "create", "carol", "--name", "laptop").strip()
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    out = extci.ok("users", "deactivate", "carol")
    assert "carol is deactivated" in out
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    rows = {line.split()[0]: line for line in lines(extci.ok("users", "list"))[1:]}
    assert "deactivated" in rows["carol"]
    assert " active" in rows["root"]

    assert "carol is active" in extci.ok("users", "activate", "CAROL")  # any case
    assert api.client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "carol"

    last = extci("users", "deactivate", "root")
    assert last.returncode == 65  # 409
    assert "last active admin" in last.stderr
    assert last.stdout == ""
    unknown = extci("users", "activate", "nobody")
    assert unknown.returncode == 66  # 404
    assert "does not exist" in unknown.stderr
    assert "Traceback" not in unknown.stderr + last.stderr


def test_users_create_refuses_a_name_differing_only_in_case(extci: Extci) -> None:
    extci.ok("users", "create", "carol", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    again = extci(
        "users", "create", "Carol", "--role", "viewer", "--password-stdin", stdin=PASSWORD
    )
    assert again.returncode == 65  # 409
    assert "ignoring case" in again.stderr
    assert again.stdout == ""


def test_tokens_list_and_delete_for_a_user(extci: Extci, api: Api) -> None:
    extci.ok("users", "create", "carol", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    laptop = extci.ok("tokens", "create", "carol", "--name", "laptop").strip()
    ci = extci.ok("tokens", "create", "carol", "--name", "ci").strip()
    listing = extci.ok("tokens", "list", "--user", "carol")
    assert laptop not in listing
    assert ci not in listing
    header, *rows = lines(listing)
    assert header.split()[:3] == ["ID", "NAME", "TOKEN"]
    assert [row.split()[1] for row in rows] == ["ci", "laptop"]
    assert laptop[-4:] in rows[1]
    laptop_id = rows[1].split()[0]

    done = extci.ok("tokens", "delete", "--user", "carol", laptop_id)
    assert f"token {laptop_id} of carol: deleted" in done
    assert api.client.get("/api/v1/me", headers=bearer(laptop)).status_code == 401
    assert api.client.get("/api/v1/me", headers=bearer(ci)).status_code == 200
    assert [row.split()[1] for row in lines(extci.ok("tokens", "list", "--user", "carol"))[1:]] == [
        "ci"
    ]

    again = extci("tokens", "delete", "--user", "carol", laptop_id)
    assert again.returncode == 66  # 404
    assert "no token" in again.stderr
    assert extci("tokens", "list").returncode == 2  # --user is required
    extci.ok("users", "create", "dan", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert extci.ok("tokens", "list", "--user", "dan").strip() == "no tokens for dan"


def test_audit_list_names_the_os_user_and_no_address(extci: Extci, api: Api) -> None:
    me = f"cli:{getpass.getuser()}"
    extci.ok("users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    extci.ok("users", "create", "carol", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    extci.ok("users", "deactivate", "carol")
    extci.ok("components", "create", "orders", "--kind", "library")
    extci.ok("components", "ci-mode", "orders", "external")
    extci.ok("keys", "create", "orders", "--name", "jenkins")

    header, *rows = lines(extci.ok("audit", "list"))
    assert header.split() == [
        "WHEN",
        "ACTOR",
        "ADDRESS",
        "ACTION",
        "COMPONENT",
        "TARGET",
        "DETAILS",
    ]
    actions = [row.split()[4] for row in rows]  # WHEN is two words (date and time)
    assert actions == [
        "key.created",
        "component.ci-mode-changed",
        "user.deactivated",
        "user.created",
        "user.created",
    ]
    for row in rows:
        assert row.split()[2:4] == [me, "-"]

    only = lines(extci.ok("audit", "list", "--action", "user.created", "--limit", "1"))
    assert len(only) == 2
    assert "carol" in only[1]
    component = lines(extci.ok("audit", "list", "--component", "orders"))[1:]
    assert [row.split()[4] for row in component] == ["key.created", "component.ci-mode-changed"]
    assert "from=platform, to=external" in component[1]
    assert extci.ok("audit", "list", "--actor", "someone-else").strip() == "no audit entries"
    bad = extci("audit", "list", "--action", "key.stolen")
    assert bad.returncode == 65  # 400
    assert "key.created" in bad.stderr  # the known actions are listed
    # the server's API shows the same entries
    root = api.token("admin", "admin")
    entries = api.client.get("/api/v1/audit", params={"actor": me}, headers=root).json()["items"]
    assert [e["action"] for e in entries] == actions
    assert {e["address"] for e in entries} == {None}
