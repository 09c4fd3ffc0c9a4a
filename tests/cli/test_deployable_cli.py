"""``extci builds deployable``: its formats from the API's document, and the command as a
real process on each database (its env output sourced by a real shell)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from extci.cli.deployable import NoImage, as_env, as_helm_values, env_pairs, render
from extci.cli.errors import ExitCode
from tests.cli.test_admin_cli import Extci
from tests.support import events as ev
from tests.support.api import Api

DIGEST = "sha256:" + "0f" * 32
DOCUMENT: dict[str, Any] = {
    "componentId": "orders-service",
    "pipelineId": "orders-1842",
    "buildVersion": "1.10",
    "git": {
        "repositoryUrl": "https://git.example.org/o.git",
        "branch": "main",
        "commitSha": "9f2c1e7",
        "tag": None,
    },
    "image": {
        "repository": "registry.example.org/team/orders",
        "tag": "1.10",
        "digest": DIGEST,
        "reference": f"registry.example.org/team/orders:1.10@{DIGEST}",
    },
    "chart": None,
    "packages": [],
}


def sourced(env_text: str, *names: str) -> list[str]:
    """What bash sees after ``eval``-ing the text: each variable on a line of its own."""
    script = 'set -eu; eval "$1"; shift; for n in "$@"; do printf "%s\\n" "${!n}"; done'
    done = subprocess.run(
        ["bash", "-c", script, "bash", env_text, *names],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return done.stdout.splitlines()


def test_env_lines_survive_a_shell_whatever_the_values() -> None:
    hostile = {**DOCUMENT, "buildVersion": "1.0 $(touch /tmp/pwned) `id` 'q' \"d\" ;&|"}
    text = as_env(hostile)
    assert text.startswith("EXTCI_COMPONENT=orders-service\n")
    assert f"EXTCI_IMAGE=registry.example.org/team/orders:1.10@{DIGEST}\n" in text
    assert "EXTCI_GIT_TAG=''\n" in text  # always set, empty when absent (set -u safe)
    assert sourced(text, "EXTCI_VERSION", "EXTCI_IMAGE_DIGEST", "EXTCI_CHART_NAME") == [
        hostile["buildVersion"], DIGEST, ""
    ]  # fmt: skip
    assert [name for name, _ in env_pairs({})][:3] == [
        "EXTCI_COMPONENT", "EXTCI_PIPELINE_ID", "EXTCI_VERSION"
    ]  # fmt: skip


def test_helm_values_are_yaml_strings() -> None:
    text = as_helm_values(DOCUMENT)
    assert text.splitlines()[1:] == [
        "image:",
        '  repository: "registry.example.org/team/orders"',
        '  tag: "1.10"',  # a string, not the number 1.1
        f'  digest: "{DIGEST}"',
    ]
    with pytest.raises(NoImage, match="no container image"):
        as_helm_values({**DOCUMENT, "image": None})


@pytest.fixture
def extci(database_url: str, tmp_path: Path) -> Extci:
    return Extci(database_url, tmp_path)


def test_the_command_on_the_database(extci: Extci, api: Api) -> None:
    """Two processes (each costs seconds): the env format a deploy script sources, and the
    answer when nothing matches. The other formats share the service and the formatter."""
    api.component("orders-service")
    key = api.key("orders-service")
    container = ev.artifact("container", version="1.4.0") | {"digest": DIGEST}
    for event in (
        ev.start("p1", "orders-service", "1.4.0"),
        ev.result("p1", ev.git_revision(), container, ev.artifact("helm")),
        ev.end("p1"),
    ):
        assert api.send(event, key).status_code == 200
    env = extci.ok(
        "builds", "deployable", "orders-service", "--branch", "main", "--version", "1.4.",
        "--format", "env",
    )  # fmt: skip
    reference = f"registry.example.org/team/orders-service:1.4.0@{DIGEST}"
    assert sourced(env, "EXTCI_PIPELINE_ID", "EXTCI_IMAGE", "EXTCI_GIT_COMMIT") == [
        "p1", reference, "9f2c1e7a5b"
    ]  # fmt: skip
    missing = extci("builds", "deployable", "orders-service", "--branch", "release")
    assert missing.returncode == ExitCode.NOINPUT
    assert "no deployable build on branch 'release'" in missing.stderr
    assert missing.stdout == ""


def test_the_json_format_is_the_api_document() -> None:
    assert json.loads(render(DOCUMENT, "json")) == DOCUMENT
