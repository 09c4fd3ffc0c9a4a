"""Build the reporter zipapp from the installed package, once per process.

The archive holds ``extci/reporter/*.py``, the modules of the server it shares (``SHARED``:
the duration syntax, and the registry of result types with the enums it names) and a
``__main__.py`` that runs :mod:`extci.reporter.__main__`: standard library only, Python 3.9
or newer.
It is built byte for byte the same from the same sources (sorted entries, fixed
timestamps and permissions), so every server process of one installation serves the
same file under the same SHA-256, and the pin a user copies into a pipeline holds until
the server is upgraded.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import extci

PYZ_NAME = "extci-report.pyz"
SH_NAME = "extci-report.sh"
SHEBANG = b"#!/usr/bin/env python3\n"
MAIN = b"import sys\nfrom extci.reporter.__main__ import main\nsys.exit(main())\n"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
# What the reporter imports from the rest of the package (the import contracts in
# pyproject.toml allow just these), with the packages' __init__ files on their way.
SHARED = (
    "__init__.py",
    "durations.py",
    "enums.py",
    "builds/__init__.py",
    "builds/result_types.py",
    "components/__init__.py",
    "components/kinds.py",
)


@dataclass(frozen=True)
class Download:
    name: str
    content: bytes
    media_type: str

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _sources() -> list[tuple[str, bytes]]:
    package = Path(extci.__file__).parent
    files = [(f"extci/{name}", (package / name).read_bytes()) for name in SHARED]
    for path in sorted((package / "reporter").glob("*.py")):
        files.append((f"extci/reporter/{path.name}", path.read_bytes()))
    files.append(("__main__.py", MAIN))
    return sorted(files)


def build_zipapp() -> bytes:
    """The zipapp's bytes: a shebang line, then a deterministic zip archive."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in _sources():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def shell_script() -> bytes:
    return resources.files("extci.downloads").joinpath(SH_NAME).read_bytes()


class Downloads:
    """The files of ``/downloads/``, built on first use and kept for the process's life."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, Download] | None = None

    def files(self) -> dict[str, Download]:
        if self._files is None:
            with self._lock:
                if self._files is None:
                    self._files = {
                        PYZ_NAME: Download(PYZ_NAME, build_zipapp(), "application/zip"),
                        SH_NAME: Download(SH_NAME, shell_script(), "text/x-shellscript"),
                    }
        return self._files

    def get(self, name: str) -> Download | None:
        return self.files().get(name)


DOWNLOADS = Downloads()
