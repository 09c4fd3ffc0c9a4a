"""docs/operations.md: every ``extci`` command it shows is one the command line accepts,
and rotating the secret key invalidates CI keys, tokens and sessions but not passwords."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from extci.app import create_app
from extci.cli.main import build_parser
from extci.config import Settings
from tests.support import events as ev
from tests.support import factories
from tests.support.signin import post_sign_in, sign_in_form

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"


def _commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words = words[1:]  # VAR=value before the command
                if words and Path(words[0]).name == "extci":
                    commands.append(words[1:])
    return commands


def test_the_page_shows_the_commands_it_promises() -> None:
    shown = {" ".join(c[:2]) for c in _commands()}
    assert {"db backup", "db restore", "db copy", "builds prune", "serve --workers"} <= shown


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_on_the_page_parses(command: list[str]) -> None:
    build_parser(command).parse_args(command)  # exits (fails the test) if it does not


def test_rotating_the_secret_key_invalidates_keys_and_tokens_not_passwords(
    settings: Settings,
) -> None:
    old = create_app(settings)
    try:
        with TestClient(old):
            sessions = old.state.runtime.sessions
            token = factories.make_user(sessions, settings.hmac_key, "admin", "admin")
            factories.make_component(sessions, "orders")
            key = factories.make_key(sessions, settings.hmac_key, "orders")[1]
    finally:
        old.state.runtime.close()
    rotated = create_app(
        Settings(
            database_url=settings.database_url,
            data_dir=settings.data_dir,
            secret_key="another-" + "k" * 40,
            create_admin=False,
        )
    )
    try:
        with TestClient(rotated) as client:
            api = client.get("/api/v1/components", headers={"Authorization": f"Bearer {token}"})
            assert api.status_code == 401
            r = client.post(
                "/ci/webhook",
                json=ev.start("run-1", "orders"),
                headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
            )
            assert r.status_code == 401
            signed_in = post_sign_in(client, sign_in_form(client), "admin", factories.PASSWORD)
            assert signed_in.status_code == 303, signed_in.text
    finally:
        rotated.state.runtime.close()
