"""The docs' tables about result types, generated from the registry
(``extci.builds.result_types``) and the reporter's flags, so no page drifts from the code.

``EXTCI_WRITE_DOCS=1 pytest tests/docs`` rewrites them in place; without it the tests fail
when they differ.
"""

from __future__ import annotations

from extci.builds import result_types
from extci.reporter.items import RESULT_TYPES as REPORTER_TYPES
from extci.reporter.items import flag_for

REQUIREMENTS = (
    "<!-- BEGIN generated requirements table: tests/docs/result_type_tables.py -->",
    "<!-- END generated requirements table -->",
)
FLAGS = (
    "<!-- BEGIN generated flags table: tests/docs/result_type_tables.py -->",
    "<!-- END generated flags table -->",
)


def _either(names: tuple[str, ...]) -> str:
    """```a``` / ```a`` or ``b``` / ```a``, ``b`` or ``c```."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _all(parts: list[str]) -> str:
    """``x``, ``x, and y``, ``x, y, and z``: each part may itself say "or"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]


def requirements_table() -> str:
    rows = [REQUIREMENTS[0], "", "| Component kind | Required results |", "|---|---|"]
    for kind, needs in result_types.NEEDS.items():
        needed = [_either(result_types.meeting(need)) for need in needs]
        rows.append(f"| `{kind}` | {_all(needed)} |")
    return "\n".join([*rows, "", REQUIREMENTS[1]])


def flags_table() -> str:
    """``extci report``'s flags per type; types with the same flags share a row."""
    rows: list[tuple[list[str], str]] = []
    for name, (required, optional) in REPORTER_TYPES.items():
        flags = " ".join(
            [*(flag_for(f) for f in required), *(f"[{flag_for(f)}]" for f in optional)]
        )
        if rows and rows[-1][1] == flags:
            rows[-1][0].append(name)
        else:
            rows.append(([name], flags))
    lines = [FLAGS[0], "", "| Type | Flags |", "|---|---|"]
    lines += [f"| {', '.join(f'`{n}`' for n in names)} | `{flags}` |" for names, flags in rows]
    return "\n".join([*lines, "", FLAGS[1]])
