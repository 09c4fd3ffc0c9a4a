"""The commands against a live server (issue 14): the same stdout and exit codes as on the
local database, from a directory with no database, with only a URL and a token.

Each mode runs its commands in one process (tests/support/cli_batch.py): one interpreter
start per mode instead of one per command.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import events as ev
from tests.support.live import EXTCI, LiveServer

pytestmark = pytest.mark.slow
BATCH = Path(__file__).parents[1] / "support" / "cli_batch.py"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXTCI_", "XDG_"))}
    return env | {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "NO_COLOR": "1"}


class Modes:
    """The same server's data, through its API (remote) and its database (local)."""

    def __init__(self, server: LiveServer, tmp: Path) -> None:
        self.server = server
        nowhere = tmp / "nowhere"  # no database here, no login
        nowhere.mkdir()
        self.cwd = nowhere
        base = clean_env(tmp)
        self.remote_env = base | {"EXTCI_URL": server.url, "EXTCI_TOKEN": server.token}
        self.local_env = base | {
            "EXTCI_DATA_DIR": str(server.data_dir),
            "EXTCI_DATABASE_URL": server.database_url,
        }

    def batch(self, mode: str, commands: list[list[str]]) -> list[dict[str, Any]]:
        env = self.remote_env if mode == "remote" else self.local_env
        done = subprocess.run(
            [sys.executable, str(BATCH)],
            input=json.dumps(commands),
            capture_output=True,
            text=True,
            env=env,
            cwd=self.cwd,
            timeout=120,
            check=True,
        )
        answers: list[dict[str, Any]] = json.loads(done.stdout)
        for argv, answer in zip(commands, answers, strict=True):
            assert "Traceback" not in answer["stderr"], (argv, answer["stderr"])
        return answers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("remote-cli") / "server").start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def modes(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Modes:
    return Modes(server, tmp_path_factory.mktemp("remote-cli-client"))


def send(server: LiveServer, key: str, event: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"{server.url}/ci/webhook",
        data=json.dumps(event).encode(),
        headers={**ev.HEADERS, "X-Codenow-Api-Key": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status in (200, 201)


READS = [
    ["components", "list"],
    ["components", "list", "-o", "json"],
    ["keys", "list", "orders"],
    ["keys", "list", "orders", "--output", "json"],
    ["builds", "list", "orders"],
    ["builds", "list", "orders", "--status", "FAILED", "--limit", "1"],
    ["builds", "list", "orders", "-o", "json"],
    ["builds", "show", "orders", "jobs/orders/1"],
    ["builds", "show", "orders", "jobs/orders/1", "-o", "json"],
    ["builds", "show", "orders", "jobs/orders/2"],
    ["users", "list"],
    ["users", "list", "-o", "json"],
    ["tokens", "list", "--user", "tester"],
    ["audit", "list", "--limit", "5"],
    ["audit", "list", "--component", "orders", "-o", "json"],
    # errors: the same problem details, the same exit codes
    ["components", "ci-mode", "nope", "external"],
    ["components", "create", "orders", "--kind", "library"],
    ["components", "create", "Bad_Id", "--kind", "library"],
    ["keys", "suspend", "orders", "999"],
    ["builds", "show", "orders", "nope"],
    ["builds", "list", "orders", "--status", "GREEN"],
    ["audit", "list", "--action", "key.stolen"],
    ["users", "deactivate", "tester"],
    ["tokens", "delete", "--user", "vera", "999"],
]


def test_every_family_prints_the_same_remotely_as_locally(server: LiveServer, modes: Modes) -> None:
    setup = modes.batch(
        "remote",
        [
            [
                "components",
                "create",
                "orders",
                "--kind",
                "application-component",
                "--name",
                "Orders",
            ],
            ["components", "create", "lib", "--kind", "library"],
            ["components", "ci-mode", "orders", "external"],
            ["keys", "create", "orders", "--name", "ci", "--expires", "2099-01-31"],
            ["users", "create", "vera", "--role", "viewer"],
        ],
    )
    assert [a["rc"] for a in setup] == [0] * 5, setup
    key = setup[3]["stdout"].strip()
    assert setup[3]["stderr"].startswith("created CI key 1 (")
    p1, p2 = "jobs/orders/1", "jobs/orders/2"
    send(server, key, ev.start(p1, "orders"))
    send(
        server, key, ev.result(p1, ev.git_revision(), ev.artifact("container"), ev.artifact("helm"))
    )
    send(server, key, ev.end(p1))
    send(server, key, ev.start(p2, "orders", "1.5.0"))
    send(server, key, ev.end(p2, "FAILED"))

    remote = modes.batch("remote", READS)
    local = modes.batch("local", READS)
    for argv, r, lo in zip(READS, remote, local, strict=True):
        assert (r["rc"], r["stdout"]) == (lo["rc"], lo["stdout"]), argv
        # Errors: the same problem detail; a server adds what to do for 401/403/429 only.
        assert r["stderr"] == lo["stderr"], argv
    by_command = {" ".join(argv): answer for argv, answer in zip(READS, remote, strict=True)}
    assert (
        "orders  Orders  application-component  external" in by_command["components list"]["stdout"]
    )
    assert "missing" not in by_command[f"builds show orders {p1}"]["stdout"]
    assert "container, git-revision, helm" in by_command[f"builds show orders {p1}"]["stdout"]
    assert json.loads(by_command["builds list orders -o json"]["stdout"])[0]["pipelineId"] == p2
    codes = [a["rc"] for a in remote[-9:]]
    assert codes == [66, 65, 65, 66, 66, 65, 65, 65, 66]

    # Changes: each mode on its own objects, the same output with the names swapped back.
    def writes(m: str) -> list[list[str]]:
        return [
            ["components", "create", f"{m}-app", "--kind", "library"],
            ["components", "ci-mode", f"{m}-app", "external"],
            ["components", "ci-mode", f"{m}-app", "platform", "-o", "json"],
            ["users", "create", f"{m}-dev", "--role", "editor"],
            ["users", "deactivate", f"{m}-dev"],
            ["users", "activate", f"{m}-dev"],
            ["keys", "create", "orders", "--name", f"{m}-key"],
            ["tokens", "create", "tester", "--name", f"{m}-token"],
        ]

    done = {m: modes.batch(mode, writes(m)) for m, mode in (("r", "remote"), ("l", "local"))}
    for argv, r, lo in zip(writes("r"), done["r"], done["l"], strict=True):
        assert r["rc"] == lo["rc"] == 0, (argv, r, lo)
        swapped = lo["stdout"].replace("l-", "r-")
        if argv[:2] in (["users", "create"], ["keys", "create"], ["tokens", "create"]):
            assert re.fullmatch(r"\S{12,}\n", r["stdout"])
            assert re.fullmatch(r"\S{12,}\n", swapped)
        elif "json" in argv:
            strip = re.compile(r'"(createdAt|updatedAt)": "[^"]*"')
            assert strip.sub("", r["stdout"]) == strip.sub("", swapped), argv
        else:
            assert r["stdout"] == swapped, argv

    keys = json.loads(
        modes.batch("remote", [["keys", "list", "orders", "-o", "json"]])[0]["stdout"]
    )
    ids = {k["name"]: k["id"] for k in keys}
    tokens = {
        t["name"]: t["id"]
        for t in json.loads(
            modes.batch("remote", [["tokens", "list", "--user", "tester", "-o", "json"]])[0][
                "stdout"
            ]
        )
    }

    def actions(m: str) -> list[list[str]]:
        key_id = str(ids[f"{m}-key"])
        return [
            ["keys", "suspend", "orders", key_id],
            ["keys", "resume", "orders", key_id],
            ["keys", "delete", "orders", key_id],
            ["tokens", "delete", "--user", "tester", str(tokens[f"{m}-token"])],
        ]

    acted = {m: modes.batch(mode, actions(m)) for m, mode in (("r", "remote"), ("l", "local"))}
    for r, lo, r_argv, l_argv in zip(
        acted["r"], acted["l"], actions("r"), actions("l"), strict=True
    ):
        assert r["rc"] == lo["rc"] == 0, (r, lo)
        assert r["stdout"].replace(r_argv[-1], "ID") == lo["stdout"].replace(l_argv[-1], "ID")


def run(
    env: dict[str, str], cwd: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXTCI, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_login_whoami_logout_round_trip(server: LiveServer, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    config = tmp_path / "config" / "extci" / "config.toml"
    assert run(env, tmp_path, "whoami").returncode == 78

    bad = run(env, tmp_path, "login", "--server", server.url, stdin="extci_pat_wrong\n")
    assert bad.returncode == 77
    assert bad.stderr.count("\n") == 1
    assert not config.exists()

    done = run(env, tmp_path, "login", "--server", server.url + "/", stdin=server.token + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"logged in to {server.url} as tester (admin); saved in {config}\n"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700

    who = run(env, tmp_path, "whoami")
    assert who.stdout == f"tester (admin) on {server.url}, via {config}\n"
    listed = run(env, tmp_path, "users", "list")
    assert listed.returncode == 0
    assert "tester" in listed.stdout

    out = run(env, tmp_path, "logout")
    assert out.stdout == f"logged out of {server.url}: removed {config}\n"
    assert not config.exists()
    after = run(env, tmp_path, "whoami")
    assert after.returncode == 78
    assert after.stderr.count("\n") == 1
