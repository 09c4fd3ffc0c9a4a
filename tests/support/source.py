"""The project's own files, for the tests that pip-install extci: installed from a copy,
so that the build (``build/``, ``*.egg-info``) never lands in the working tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Never copied: what is not source (when the tree is not a git checkout).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "var", "build", "dist", "*.egg-info", "__pycache__",
    ".*_cache", ".hypothesis", "test-results",
)  # fmt: skip


def copy_of_the_tree(target: Path) -> Path:
    """The files git would commit (tracked, and new ones not ignored), as they are on disk,
    copied to ``target``; returns ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:  # not a git checkout (an unpacked sdist, say)
        shutil.copytree(REPO, target, ignore=NOT_SOURCE)
        return target
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():  # listed but deleted in the working tree: skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target
