"""The reporter as the server serves it: downloaded from a live server, checked against
the SHA-256 the server shows, and run in a fresh venv that has no extci installed."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import extci
from extci.builds import result_types
from extci.downloads.bundle import SHARED, build_zipapp
from tests.reporter.reporter_helpers import base_env, make_git_repo, unique

pytestmark = pytest.mark.slow


def oldest_python() -> str:
    """The oldest Python 3.9+ on this machine (pyenv keeps several): the zipapp promises
    3.9; without one, the interpreter running the tests."""
    pyenv = Path("~/.pyenv/versions").expanduser()
    candidates = [
        *sorted(pyenv.glob("3.9.*/bin/python")),
        *sorted(pyenv.glob("3.10.*/bin/python")),
        *(Path(p) for p in ("/usr/bin/python3.9", "/usr/bin/python3.10")),
    ]
    for candidate in candidates:
        works = candidate.exists() and subprocess.run(
            [str(candidate), "-c", "import venv"], capture_output=True, check=False
        )
        if works and works.returncode == 0:
            return str(candidate)
    return sys.executable


def test_what_the_zipapp_carries_parses_as_python_3_9() -> None:
    """The reporter and the modules of the server it carries are Python 3.9 (the zipapp's
    promise), checked by the grammar even where no 3.9 interpreter is installed."""
    package = Path(extci.__file__).parent
    files = [*(package / name for name in SHARED), *(package / "reporter").glob("*.py")]
    for path in files:
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


def test_the_zipapp_knows_every_registered_result_type_on_the_oldest_python(
    tmp_path: Path,
) -> None:
    """The reporter's result types are the registry's (extci/builds/result_types.py), which
    the zipapp carries: on the oldest Python here, without site-packages (-I -S: the
    standard library alone), its help lists every type with its flags."""
    pyz = tmp_path / "extci.pyz"
    pyz.write_bytes(build_zipapp())
    done = subprocess.run(
        [oldest_python(), "-I", "-S", str(pyz), "report", "result", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ")}
    for t in result_types.TYPES:
        assert t.name in listed, done.stdout
        for f in t.fields:
            flag = "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", f.wire).lower()
            assert (f"[{flag} V]" if not f.required else f"{flag} V") in listed[t.name]


def test_the_served_zipapp_reports_from_a_clean_venv(live_server: Any, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{live_server.url}/downloads/extci-report.pyz", timeout=30) as r:  # noqa: S310
        (tmp_path / "extci.pyz").write_bytes(r.read())
    with urllib.request.urlopen(f"{live_server.url}/downloads/", timeout=30) as r:  # noqa: S310
        shown = re.search(r'id="pyz-sha256">([0-9a-f]{64})<', r.read().decode())
    assert shown
    pin = subprocess.run(
        ["sha256sum", "-c"], input=f"{shown.group(1)}  extci.pyz\n", cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert pin.returncode == 0, pin.stdout + pin.stderr

    venv = tmp_path / "venv"
    python = oldest_python()
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpython = str(venv / "bin" / "python")
    no_extci = subprocess.run(
        [vpython, "-c", "import extci"], capture_output=True, text=True, check=False
    )
    assert no_extci.returncode != 0  # nothing of extci in that venv

    component = unique("orders")
    key = live_server.external_component(component)
    sha = make_git_repo(tmp_path / "work")
    env = base_env(EXTCI_URL=live_server.url, EXTCI_CI_KEY=key, EXTCI_COMPONENT=component)
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    env["EXTCI_PIPELINE_ID"] = pipeline_id = unique("run")
    done = subprocess.run(
        [vpython, str(tmp_path / "extci.pyz"), "report", "run", "--version", "2.0.0",
         "container", "--repository-url", "registry.example.org", "--artifact-path", "acme/orders",
         "--artifact-version", "2.0.0", "helm", "--repository-url", "oci://charts.example.org",
         "--artifact-path", "orders", "--artifact-version", "2.0.0",
         "--", "sh", "-c", "echo built"],
        env=env, cwd=tmp_path / "work", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    build = live_server.build(component, pipeline_id)
    assert build["status"] == "SUCCESSFUL", json.dumps(build)
    assert build["buildVersion"] == "2.0.0"
    assert build["gitRevision"]["commitSha"] == sha
    assert {r["type"] for r in build["results"]} == {"git-revision", "container", "helm"}
    version = subprocess.run(
        [vpython, str(tmp_path / "extci.pyz"), "--version"], capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert version.stdout.startswith("extci reporter ")
    print(f"zipapp ran on {python}")
