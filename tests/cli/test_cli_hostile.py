"""What a hostile pipeline or a slip of the keyboard makes of the ``extci`` admin commands
(issue 8, findings 7 and 9), run on SQLite and on PostgreSQL: stored text
reaches the terminal with its control characters escaped, and a far-future expiry is a
one-line error, not a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.test_admin_cli import Extci
from tests.support import events as ev
from tests.support.api import Api

# Clear the screen, retitle the terminal (OSC), return to the line start and overwrite it,
# and a C1 control (CSI) and a bell: what a pipeline could use to fake what an operator sees.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\rSUCCESSFUL\x9b31m\x08\x7f"
# No raw control character (C0 but newline, DEL, C1) may reach the terminal.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def extci(database_url: str, tmp_path: Path) -> Extci:
    return Extci(database_url, tmp_path)


def assert_escaped(output: str) -> None:
    assert not RAW_CONTROL.search(output), repr(output)
    assert r"\x1b[2J\x1b]0;pwned\x07\rSUCCESSFUL\x9b31m\x08\x7f" in output, output


def test_builds_list_and_show_escape_what_the_pipeline_sent(extci: Extci, api: Api) -> None:
    api.component("orders-service")
    key = api.key("orders-service")
    start = ev.start(
        "p" + HOSTILE,
        "orders-service",
        "1.0" + HOSTILE,
        pipelineName=HOSTILE,
        actor={"username": HOSTILE, "fullname": HOSTILE},
    )
    assert api.send(start, key).status_code == 200
    result = ev.result("p" + HOSTILE, ev.git_revision(branch=HOSTILE, sha="abc" + HOSTILE))
    assert api.send(result, key).status_code == 200

    listing = extci.ok("builds", "list", "orders-service")
    assert_escaped(listing)
    assert len(listing.strip("\n").splitlines()) == 2  # the header and one row: no CR tricks
    show = extci.ok("builds", "show", "orders-service", "p" + HOSTILE)
    assert_escaped(show)
    for label in ("version:", "pipeline:", "actor:", "built from:"):
        line = next(line for line in show.splitlines() if label in line)
        assert r"\x1b[2J" in line, (label, line)


def test_component_and_key_lists_escape_stored_names(extci: Extci, api: Api) -> None:
    admin = api.token("admin")
    created = api.client.post(
        "/api/v1/components",
        json={"id": "orders-service", "name": HOSTILE, "kind": "library"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    api.client.put(
        "/api/v1/components/orders-service/ci-mode", json={"mode": "external"}, headers=admin
    )
    key = api.client.post(
        "/api/v1/components/orders-service/ci-keys", json={"name": HOSTILE}, headers=admin
    )
    assert key.status_code == 201, key.text
    assert_escaped(extci.ok("components", "list"))
    assert_escaped(extci.ok("keys", "list", "orders-service"))


@pytest.mark.parametrize(
    "expires", ["9999-12-31", "9999-12-31T23:59:59-05:00", "10000-01-01", "tomorrow"]
)
def test_keys_create_with_an_expiry_utc_cannot_hold_is_a_one_line_error(
    extci: Extci, api: Api, expires: str
) -> None:
    api.component("orders-service")
    done = extci("keys", "create", "orders-service", "--name", "ci", "--expires", expires)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert "SQL" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if "error:" in line]
    assert "--expires" in error
    assert ("years 1-9999 in UTC" in error) or ("must be a date" in error), error
    listed = extci.ok("keys", "list", "orders-service")
    assert "no CI keys" in listed


def test_tokens_create_with_an_expiry_utc_cannot_hold_is_a_one_line_error(
    extci: Extci, api: Api
) -> None:
    api.token("admin", "root")
    done = extci("tokens", "create", "root", "--name", "t", "--expires", "9999-12-31T23:59-01:00")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "years 1-9999 in UTC" in done.stderr


def test_an_argument_that_is_no_utf8_is_a_usage_error(extci: Extci, api: Api) -> None:
    api.component("orders-service")
    name = b"jenkins \xff".decode("utf-8", "surrogateescape")  # what Python makes of it
    done = extci("keys", "create", "orders-service", "--name", name)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "not UTF-8" in done.stderr
    assert "no CI keys" in extci.ok("keys", "list", "orders-service")
