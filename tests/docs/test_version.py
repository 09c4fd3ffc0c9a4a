"""The version is written once, as ``__version__`` in ``src/extci/__init__.py``:
``pyproject.toml`` reads it from there, and the release the deployment kit, the examples
and the docs pin (an image tag, a git tag) is that version, so a release bumps one line
and this test names every copy left behind."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import extci

ROOT = Path(__file__).resolve().parents[2]
PINS = re.compile(r"(?:/extci:|ref: v)(\d+\.\d+\.\d+)")


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "extci.__version__"}


def test_every_pinned_release_is_this_version() -> None:
    files = [
        *(ROOT / "deploy").rglob("*.yaml"),
        *(ROOT / "examples").rglob("*.yml"),
        *(ROOT / "docs").glob("*.md"),
        ROOT / "README.md",
    ]
    pins = {
        (path.relative_to(ROOT).as_posix(), version)
        for path in files
        for version in PINS.findall(path.read_text())
    }
    assert pins, "no pinned release found: has the pattern gone stale?"
    assert {pin for pin in pins if pin[1] != extci.__version__} == set()
