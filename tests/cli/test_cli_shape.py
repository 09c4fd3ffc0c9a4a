"""The command line's shape: the local API routes like the server, the commands import
no server code until they need it, and completion comes from the parser."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from extci.cli import completion
from extci.cli.errors import ApiError
from extci.cli.local import LocalApi, routes
from extci.cli.main import build_parser
from extci.config import Settings
from tests.support.api import Api

SCRIPT = Path(sys.executable).parent / "extci"


def test_the_local_api_has_every_route_of_the_server(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    served = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    local = {
        (method, route.path.replace(":path}", "}"))
        for route in routes()
        for method in route.methods
    }
    assert local == served


def test_the_local_api_pages_a_list_as_the_server_does(api: Api, settings: Settings) -> None:
    for component in ("a-app", "b-app", "c-app"):
        api.component(component)
    viewer = api.token("viewer")
    served = api.client.get("/api/v1/components", params={"limit": 2}, headers=viewer).json()
    local = LocalApi.open(settings)
    try:
        first = local.call("GET", "/components", query={"limit": 2})
        rest = local.call("GET", "/components", query={"cursor": first["nextCursor"]})
        with pytest.raises(ApiError) as refused:
            local.call("GET", "/components", query={"limit": 0})
    finally:
        local.close()
    assert first == served
    assert [c["id"] for c in first["items"] + rest["items"]] == ["c-app", "b-app", "a-app"]
    assert rest["nextCursor"] is None
    answer = api.client.get("/api/v1/components", params={"limit": 0}, headers=viewer)
    assert refused.value.problem["errors"] == answer.json()["errors"]


def test_help_and_remote_commands_import_no_server_code(tmp_path: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "from extci.cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'fastapi', 'pydantic', 'starlette', 'alembic'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "EXTCI_TOKEN": "t"}
    env["EXTCI_URL"] = "http://127.0.0.1:9"  # nothing listens: the command fails fast
    for argv in (["--help"], ["components", "list"], ["builds", "show", "c", "p"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.stderr.splitlines()[-1] == "[]", (argv, done.stderr)


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += leaves(child, (*path, name)) or [(*path, name)]
    return found


def complete(script: str, line: str) -> list[str]:
    words = line.split(" ")
    bash = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; _extci; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", bash], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


def test_bash_completion_comes_from_the_parser() -> None:
    parser = build_parser()
    script = completion.script(parser, "bash")
    assert complete(script, "extci comp") == ["components", "completion"]
    assert complete(script, "extci components create web --kind ") == [
        "application-component",
        "library",
    ]
    assert complete(script, "extci builds show --o") == ["--output"]
    assert complete(script, "extci components ci-mode web ") == [
        "-h",
        "--help",
        "-o",
        "--output",
        "external",
        "platform",
    ]
    # Every command of the parser completes, in one bash run.
    lines = [" ".join(("extci", *leaf[:-1], leaf[-1][:-1])) for leaf in leaves(parser)]
    checks = "\n".join(
        f"COMP_WORDS=({line}); COMP_CWORD={len(line.split()) - 1}; _extci; "
        f'[[ " ${{COMPREPLY[*]}} " == *" {leaf[-1]} "* ]] || echo "missing: {line}"'
        for line, leaf in zip(lines, leaves(parser), strict=True)
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", f"{script}\n{checks}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout == ""
    zsh = completion.script(parser, "zsh")
    assert zsh.startswith("#compdef extci\n")
    assert "bashcompinit" in zsh
