"""Check constraints written from the StrEnum that owns the values, never by hand."""

from __future__ import annotations

from collections.abc import Iterable


def one_of(column: str, values: Iterable[str]) -> str:
    """``column IN ('a', 'b')``: a check constraint's SQL, e.g. from a StrEnum's members."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
