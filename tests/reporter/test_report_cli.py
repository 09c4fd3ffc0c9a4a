"""Argument parsing and ``--dry-run``: the exact JSON each command would send."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from extci.cli.main import main
from extci.reporter.cli import split_run_arguments
from extci.reporter.items import RESULT_TYPES, ItemSyntaxError, flag_for, parse_items
from tests.reporter.reporter_helpers import base_env, json_lines, make_git_repo, run_extci

GITHUB = {
    "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/orders", "GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_ACTOR": "jdoe", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
    "GITHUB_SHA": "a" * 40,
}  # fmt: skip
PIPELINE = "orders/github/acme/orders/77/1"


@pytest.fixture
def in_github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {**GITHUB, "EXTCI_COMPONENT": "orders"}.items():
        monkeypatch.setenv(name, value)


def dry_run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["report", *argv[:1], "--dry-run", *argv[1:]]) == 0
    return json_lines(capsys.readouterr().out)


@pytest.mark.usefixtures("in_github")
def test_start_dry_run_prints_the_start_event(capsys: pytest.CaptureFixture[str]) -> None:
    [event] = dry_run(capsys, "start", "--version", "1.4.0", "--pipeline-name", "build")
    created = str(event.pop("createdAt"))
    assert created.endswith("Z")
    assert dt.datetime.fromisoformat(created).tzinfo is not None
    assert event == {
        "type": "codenow.ci.start.event",
        "version": "application/vnd.codenow.v1+json",
        "pipelineId": PIPELINE,
        "componentId": "orders",
        "buildVersion": "1.4.0",
        "actor": {"username": "jdoe", "fullname": None},
        "pipelineName": "build",
        "dashboardUrl": "https://github.com/acme/orders/actions/runs/77/attempts/1",
    }


@pytest.mark.usefixtures("in_github")
def test_version_defaults_to_the_short_commit(capsys: pytest.CaptureFixture[str]) -> None:
    [event] = dry_run(capsys, "start")
    assert event["buildVersion"] == "a" * 12


@pytest.mark.usefixtures("in_github")
def test_several_items_in_one_result_event(capsys: pytest.CaptureFixture[str]) -> None:
    [event] = dry_run(
        capsys, "result",
        "git-revision",
        "container", "--repository-url", "registry.example.org", "--artifact-path", "acme/orders",
        "--artifact-version", "1.4.0", "--digest", "sha256:" + "b" * 64,
        "helm", "--repository-url=oci://charts.example.org", "--artifact-path=orders",
        "--artifact-version=1.4.0",
        "link", "--name", "container", "--url", "https://docs.example.org",
    )  # fmt: skip
    assert event["type"] == "codenow.ci.result.event"
    assert event["pipelineId"] == PIPELINE
    assert event["payload"] == [
        {
            "type": "git-revision",
            "version": "v1",
            "repositoryUrl": "https://github.com/acme/orders",
            "branch": "main",
            "commitSha": "a" * 40,
        },
        {
            "type": "container",
            "version": "v1",
            "repositoryUrl": "registry.example.org",
            "artifactPath": "acme/orders",
            "artifactVersion": "1.4.0",
            "digest": "sha256:" + "b" * 64,
        },
        {
            "type": "helm",
            "version": "v1",
            "repositoryUrl": "oci://charts.example.org",
            "artifactPath": "orders",
            "artifactVersion": "1.4.0",
        },
        # a value that is a type name ("container") stays a value
        {"type": "link", "version": "v1", "name": "container", "url": "https://docs.example.org"},
    ]


@pytest.mark.usefixtures("in_github")
def test_explicit_git_flags_override_detection(capsys: pytest.CaptureFixture[str]) -> None:
    [event] = dry_run(capsys, "result", "git-revision", "--branch", "release")
    [item] = event["payload"]
    assert item["branch"] == "release"
    assert item["commitSha"] == "a" * 40


@pytest.mark.usefixtures("in_github")
@pytest.mark.parametrize("result", ["SUCCESSFUL", "FAILED", "CANCELED"])
def test_end_dry_run(capsys: pytest.CaptureFixture[str], result: str) -> None:
    [event] = dry_run(capsys, "end", "--result", result)
    assert (event["type"], event["result"]) == ("codenow.ci.end.event", result)


@pytest.mark.usefixtures("in_github")
def test_run_dry_run_sends_every_event_and_passes_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["report", "run", "--dry-run", "--version", "2", "npm", "--repository-url", "r",
         "--artifact-path", "p", "--artifact-version", "2", "--", "sh", "-c", "exit 0"]
    )  # fmt: skip
    assert code == 0
    events = json_lines(capsys.readouterr().out)
    assert [e["type"].split(".")[2] for e in events] == ["start", "result", "result", "end"]
    assert events[1]["payload"][0]["type"] == "git-revision"
    assert events[2]["payload"][0]["type"] == "npm"
    assert events[3]["result"] == "SUCCESSFUL"


@pytest.mark.usefixtures("in_github")
def test_run_failure_skips_artifacts_and_ends_failed(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["report", "run", "--dry-run", "npm", "--repository-url", "r", "--artifact-path", "p",
         "--artifact-version", "2", "--", "sh", "-c", "exit 3"]
    )  # fmt: skip
    assert code == 3
    events = json_lines(capsys.readouterr().out)
    assert [e.get("result") for e in events] == [None, None, "FAILED"]


@pytest.mark.usefixtures("in_github")
def test_run_of_a_missing_command_still_ends_the_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "run", "--dry-run", "--", "no-such-command-xyz"]) == 127
    assert json_lines(capsys.readouterr().out)[-1]["result"] == "FAILED"


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["--branch", "x"], "before any result type"),
        (["container", "--artifact-path"], "needs a value"),
        (["container", "--tag", "x"], "unknown option --tag"),
        (["docker"], "unknown result type"),
        (["link", "--name", "a", "--name", "b"], "given twice"),
    ],
)
def test_item_syntax_errors(tokens: list[str], message: str) -> None:
    with pytest.raises(ItemSyntaxError, match=message):
        parse_items(tokens)


@pytest.mark.usefixtures("in_github")
def test_missing_fields_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "result", "--dry-run", "container", "--artifact-path", "p"]) == 2
    err = capsys.readouterr().err
    assert "--repository-url" in err
    assert "--artifact-version" in err


def test_every_wire_field_has_a_flag() -> None:
    flags = {
        flag_for(f) for required, optional in RESULT_TYPES.values() for f in required + optional
    }
    assert flags == {
        "--repository-url", "--branch", "--commit-sha", "--tag", "--system", "--url",
        "--artifact-path", "--artifact-version", "--digest", "--name",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("rest", "items", "command"),
    [
        (["--", "sh", "-c", "exit 3"], [], ["sh", "-c", "exit 3"]),
        (["make", "build"], [], ["make", "build"]),
        (
            ["helm", "--artifact-path", "x", "--", "make", "--", "y"],
            ["helm", "--artifact-path", "x"],
            ["make", "--", "y"],
        ),
    ],
)
def test_run_splits_items_from_the_command(
    rest: list[str], items: list[str], command: list[str]
) -> None:
    assert split_run_arguments(rest) == (items, command)


@pytest.mark.parametrize("rest", [[], ["--"], ["helm", "--artifact-path", "x"]])
def test_run_needs_a_command(rest: list[str]) -> None:
    with pytest.raises(ItemSyntaxError):
        split_run_arguments(rest)


def test_outside_ci_the_pipeline_id_must_be_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "end", "--dry-run", "--result", "FAILED"]) == 2
    assert "EXTCI_PIPELINE_ID" in capsys.readouterr().err
    monkeypatch.setenv("EXTCI_PIPELINE_ID", "local-1")
    [event] = dry_run(capsys, "end", "--result", "FAILED")
    assert event["pipelineId"] == "local-1"


@pytest.mark.usefixtures("in_github")
def test_sending_needs_url_and_key_and_never_prints_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["report", "end", "--result", "FAILED"]) == 2
    assert "EXTCI_URL and EXTCI_CI_KEY" in capsys.readouterr().err
    monkeypatch.setenv("EXTCI_URL", "ftp://example.org")
    monkeypatch.setenv("EXTCI_CI_KEY", "very-secret-key")
    assert main(["report", "end", "--result", "FAILED"]) == 2
    captured = capsys.readouterr()
    assert "http://" in captured.err
    assert "very-secret-key" not in captured.err + captured.out


def test_help_documents_types_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "result", "--help"])
    out = capsys.readouterr().out
    assert "code-quality  --system V --url V" in out
    assert "75  server unreachable" in out


def test_a_bad_retry_duration_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTCI_RETRY_FOR", "forever")
    assert main(["report", "end", "--dry-run", "--pipeline-id", "p", "--result", "FAILED"]) == 2
    assert "EXTCI_RETRY_FOR" in capsys.readouterr().err


def test_the_report_command_imports_no_server_dependency() -> None:
    server_side = ("fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "httpx", "uvicorn")
    code = (
        "import sys\n"
        "from extci.cli.main import main\n"
        "try:\n"
        "    main(['report', 'end', '--dry-run', '--pipeline-id', 'p', '--result', 'FAILED'])\n"
        "finally:\n"
        f"    print([m for m in sys.modules if m.split('.')[0] in {server_side!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _git_spy(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``git`` is the real one, logging each call to a file."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "git-calls"
    bin_dir.mkdir()
    spy = bin_dir / "git"
    spy.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {shutil.which("git")} "$@"\n')
    spy.chmod(0o755)
    env = base_env(EXTCI_COMPONENT="orders", EXTCI_PIPELINE_ID="run-1")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env, calls


def test_start_with_a_version_asks_git_nothing(tmp_path: Path) -> None:
    make_git_repo(tmp_path / "work")
    env, calls = _git_spy(tmp_path)
    done = run_extci(["report", "start", "--version", "1.2.3", "--dry-run"], env, tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[0]["buildVersion"] == "1.2.3"
    assert not calls.exists()


def test_start_without_a_version_takes_the_commit_from_git(tmp_path: Path) -> None:
    sha = make_git_repo(tmp_path / "work")
    env, calls = _git_spy(tmp_path)
    done = run_extci(["report", "start", "--dry-run"], env, tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[0]["buildVersion"] == sha[:12]
    assert "rev-parse HEAD" in calls.read_text()
