"""The release files `make dist` builds: the sdist, and the wheel built from it, carry every
file of the package (templates, static files, migrations, the shell reporter), the license,
and the one version written in ``extci/__init__.py``.

The build runs on a copy of the source in ``tmp_path`` (``python -m build`` writes an
``.egg-info`` next to the sources it builds), so nothing is written into the tree."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import extci

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "extci"
RELEASE = f"extci-{extci.__version__}"


def _package_files() -> set[str]:
    """Every file of the source package, as a path in the wheel (``extci/...``)."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def test_the_wheel_holds_every_file_of_the_package(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"{RELEASE}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
    expected = _package_files()
    # The kinds of file that are not Python, named, so that an empty glob cannot pass.
    for required in (
        "extci/web/templates/base.html",
        "extci/web/static/app.css",
        "extci/web/static/app.js",
        "extci/migrations/env.py",
        "extci/migrations/script.py.mako",
        "extci/migrations/versions/0001_initial_schema.py",
        "extci/downloads/extci-report.sh",
        "extci/py.typed",
    ):
        assert required in expected, required
    assert expected - names == set()
    assert f"{RELEASE}.dist-info/licenses/LICENSE" in names


def test_the_wheel_metadata_carries_the_one_version_and_the_license(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"{RELEASE}-py3-none-any.whl") as wheel:
        metadata = email.message_from_bytes(wheel.read(f"{RELEASE}.dist-info/METADATA"))
    assert metadata["Version"] == extci.__version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Requires-Dist") is not None  # the extras, none unconditional
    assert all("extra ==" in spec for spec in metadata.get_all("Requires-Dist"))


def test_the_sdist_holds_the_license_and_the_sources(dist: Path) -> None:
    with tarfile.open(dist / f"{RELEASE}.tar.gz") as sdist:
        names = {name.removeprefix(f"{RELEASE}/") for name in sdist.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    assert {f"src/{name}" for name in _package_files()} <= names
