"""Plain-text presentation for the command line (standard library only).

Everything the commands print goes through :func:`printable`: build data comes from CI
pipelines, and a raw ESC, OSC or CR in a version or a branch could clear the operator's
screen, retitle the terminal or overwrite a line to fake a status.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

# A column of a listing: a field of the API's document, or what to show for the document.
Field = str | Callable[[Mapping[str, Any]], str]

# C0 controls (newline included: one value, one line), DEL, C1 controls, and the Unicode
# bidirectional overrides and isolates, which reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)


def echo(*lines: str, file: TextIO | None = None) -> None:
    """Print each line, escaped: the one way the commands write to the terminal."""
    out = sys.stdout if file is None else file
    for line in lines:
        print(printable(line), file=out)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> list[str]:
    """The lines of a table, its cells escaped (and measured as they will be shown)."""
    if not rows:
        return [empty]
    cells = [[printable(cell) for cell in line] for line in [headers, *rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]


def when(value: datetime | str | None) -> str:
    """A time as the commands show it (UTC, to the second); ``value`` may be the API's
    RFC 3339 text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def cell(document: Mapping[str, Any], field: Field) -> str:
    """A field as a listing shows it: a time (the API names them ``...At``) as :func:`when`
    shows it, no value as ``-``, anything else as its text."""
    if not isinstance(field, str):
        return field(document)
    value = document[field]
    if field.endswith("At"):
        return when(value)
    return "-" if value is None else str(value)


def listing(
    documents: Sequence[Mapping[str, Any]],
    headers: Sequence[str],
    fields: Sequence[Field],
    *,
    empty: str,
) -> list[str]:
    """The table of a list the API answered: a row per document, a column per field."""
    rows = [[cell(document, field) for field in fields] for document in documents]
    return table(headers, rows, empty=empty)
